package io.ustor.vhost.protocol;

/** The peer broke the vhost-user protocol (bad size, bad index, missing descriptor); the connection is closed. */
public final class VhostProtocolException extends RuntimeException {
    public VhostProtocolException(String message) {
        super(message);
    }
}
