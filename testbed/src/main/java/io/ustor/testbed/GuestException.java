package io.ustor.testbed;

/**
 * A running guest failed: it did not boot in time, a command ran past its timeout (the guest is then killed),
 * or QEMU exited under a command. The message carries the tail of the guest's console and of QEMU's log.
 */
public final class GuestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GuestException(String message) {
        super(message);
    }

    public GuestException(String message, Throwable cause) {
        super(message, cause);
    }
}
