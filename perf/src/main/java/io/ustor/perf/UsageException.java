package io.ustor.perf;

/** A bad bdevperf command line; the message says which option and why. */
public final class UsageException extends Exception {
    public UsageException(String message) {
        super(message);
    }
}
