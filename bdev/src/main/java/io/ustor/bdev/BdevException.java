package io.ustor.bdev;

/** A control-plane bdev failure (register, open, claim, create) with the errno a JSON-RPC answer can report. */
public final class BdevException extends RuntimeException {
    private final int errno;

    /** {@code errno} positive (e.g. Errno.ENODEV). */
    public BdevException(int errno, String message) {
        super(message);
        this.errno = errno;
    }

    public BdevException(int errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** The positive errno (ENODEV not found, EEXIST duplicate, EPERM claimed/read-only, EINVAL bad argument, EBUSY). */
    public int errno() {
        return errno;
    }
}
