package io.ustor.bdev;

/**
 * Told about events on a bdev a descriptor has open. Runs on the reactor that opened the descriptor, or on the
 * control thread that caused the event when the descriptor was opened off the reactors.
 */
@FunctionalInterface
public interface BdevEventCallback {
    void onEvent(BdevEventType type, BdevDesc desc);
}
