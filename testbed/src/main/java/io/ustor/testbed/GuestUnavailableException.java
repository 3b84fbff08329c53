package io.ustor.testbed;

/**
 * The host cannot run the test guest: QEMU or the image tools are missing, or the image could not be built.
 * The message says what to install or where the build log is. Guest tests let it fail them: a test bed that
 * cannot boot is a broken test environment, not a reason to skip.
 */
public final class GuestUnavailableException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public GuestUnavailableException(String message) {
        super(message);
    }

    public GuestUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
