package io.ustor.perf;

/** A run that cannot start or finish (no such bdev, bad I/O size for a bdev, stuck I/O); the message says why. */
public final class BdevperfException extends Exception {
    public BdevperfException(String message) {
        super(message);
    }

    public BdevperfException(String message, Throwable cause) {
        super(message, cause);
    }
}
