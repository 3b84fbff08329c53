package io.ustor.bdev;

/**
 * Waits for a free {@link BdevIo} after a submit returned -ENOMEM (see {@link BdevDesc#queueIoWait}). {@link #onRetry}
 * runs on the channel's reactor once an io was freed; resubmit there (and queue again if that fails with -ENOMEM).
 */
@FunctionalInterface
public interface BdevIoWaitEntry {
    void onRetry();
}
