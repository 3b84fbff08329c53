package io.ustor.rpc;

import io.ustor.env.Errno;

/** A JSON-RPC error: the code and message go into the response's {@code error} object. */
public final class RpcException extends Exception {
    public static final int PARSE_ERROR = -32700;
    public static final int INVALID_REQUEST = -32600;
    public static final int METHOD_NOT_FOUND = -32601;
    public static final int INVALID_PARAMS = -32602;
    public static final int INTERNAL_ERROR = -32603;
    /** SPDK's code for a method called in the wrong RPC state (before/after framework_start_init). */
    public static final int INVALID_STATE = -1;

    private final int code;

    public RpcException(int code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public RpcException(int code, String message, Throwable cause) {
        super(message, cause, false, false);
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static RpcException invalidParams(String message) {
        return new RpcException(INVALID_PARAMS, message);
    }

    public static RpcException internal(String message) {
        return new RpcException(INTERNAL_ERROR, message);
    }

    /**
     * SPDK's convention for module errors: the code is the negative errno and the message its text, here prefixed
     * with what failed, e.g. {@code -17 "bdev Malloc0 already exists: File exists"}.
     */
    public static RpcException errno(int errno, String what) {
        int e = Math.abs(errno);
        String text = Errno.describe(e);
        return new RpcException(-e, what == null || what.isEmpty() ? text : what + ": " + text);
    }
}
