package io.ustor.bdev;

/**
 * Called once when an I/O ends, on the reactor that submitted it. Use one long-lived object per request (not a
 * lambda made per I/O). The io belongs to the layer and is freed right after this returns: copy what you need.
 */
@FunctionalInterface
public interface BdevIoCallback {
    void onComplete(BdevIo io, boolean success, Object cbArg);
}
