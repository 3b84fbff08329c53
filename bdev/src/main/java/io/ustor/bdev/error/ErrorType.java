package io.ustor.bdev.error;

/** What an injected error does to the I/O it hits (SPDK's error_type names). */
public enum ErrorType {
    /** Completes it FAILED (EIO) without reaching the base. */
    FAILURE("failure"),
    /** Never completes it until a reset (or the channel's end) aborts it: for testing timeouts and aborts. */
    PENDING("pending"),
    /** Flips bits (XOR with a value) at a byte offset of its data: a write's before it goes down, a read's after. */
    CORRUPT_DATA("corrupt_data"),
    /** Completes it NOMEM: the bdev layer queues and resubmits it, as when a module runs out of resources. */
    NOMEM("nomem");

    private final String rpcName;

    ErrorType(String rpcName) {
        this.rpcName = rpcName;
    }

    public String rpcName() {
        return rpcName;
    }

    /** By SPDK's name, or null. */
    public static ErrorType of(String rpcName) {
        for (ErrorType t : values()) {
            if (t.rpcName.equals(rpcName)) {
                return t;
            }
        }
        return null;
    }
}
