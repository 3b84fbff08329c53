package io.ustor.env;

/**
 * A failed system call: names the call, the arguments that matter and the errno text,
 * so an operator can act on the message alone ("open(/dev/vfio/7, O_RDWR): EBUSY (Device or resource busy)").
 */
public final class NativeException extends RuntimeException {
    private final String call;
    private final int errno;

    public NativeException(String call, int errno) {
        super(call + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    public NativeException(String call, int errno, String hint) {
        super(call + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")" + (hint == null ? "" : ". " + hint));
        this.call = call;
        this.errno = errno;
    }

    /** The call with its arguments, as it appears in the message. */
    public String call() {
        return call;
    }

    /** The errno the call failed with. */
    public int errno() {
        return errno;
    }
}
