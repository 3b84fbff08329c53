package io.ustor.rpc;

import java.time.Duration;

/**
 * Limits that keep the management plane from being tied up by one client.
 *
 * @param maxRequestBytes         largest single request (or batch); larger ones get an error and the connection
 *                                is closed (SPDK's own server buffers 256 KiB)
 * @param maxConnections          connections at once (SPDK: 64); more are answered with an error and closed
 * @param maxPendingResponseBytes response bytes queued for a client that is not reading; past it, it is dropped
 * @param maxOutstandingRequests  requests of one connection in flight before the server stops reading from it
 * @param idleTimeout             a connection with nothing in flight and nothing received for this long is closed
 */
public record RpcServerOptions(int maxRequestBytes, int maxConnections, long maxPendingResponseBytes,
                               int maxOutstandingRequests, Duration idleTimeout) {
    public RpcServerOptions {
        if (maxRequestBytes <= 0 || maxConnections <= 0 || maxPendingResponseBytes <= 0 || maxOutstandingRequests <= 0
                || idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("bad RPC server limits");
        }
    }

    public static RpcServerOptions defaults() {
        return new RpcServerOptions(1 << 20, 64, 32L << 20, 64, Duration.ofMinutes(10));
    }

    public RpcServerOptions withMaxRequestBytes(int bytes) {
        return new RpcServerOptions(bytes, maxConnections, maxPendingResponseBytes, maxOutstandingRequests, idleTimeout);
    }

    public RpcServerOptions withMaxConnections(int n) {
        return new RpcServerOptions(maxRequestBytes, n, maxPendingResponseBytes, maxOutstandingRequests, idleTimeout);
    }

    public RpcServerOptions withMaxPendingResponseBytes(long bytes) {
        return new RpcServerOptions(maxRequestBytes, maxConnections, bytes, maxOutstandingRequests, idleTimeout);
    }

    public RpcServerOptions withIdleTimeout(Duration d) {
        return new RpcServerOptions(maxRequestBytes, maxConnections, maxPendingResponseBytes, maxOutstandingRequests, d);
    }
}
