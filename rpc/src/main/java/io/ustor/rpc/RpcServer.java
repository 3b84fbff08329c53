package io.ustor.rpc;

import io.ustor.rpc.internal.RpcSelectorLoop;

import java.io.IOException;
import java.nio.file.Path;

/**
 * JSON-RPC 2.0 over a Unix stream socket, SPDK's wire format: one selector thread ("rpc-server") reads and writes
 * every connection without blocking; methods run on the registry's worker. Neither thread is a reactor, and
 * nothing here waits for one.
 */
public final class RpcServer implements AutoCloseable {
    private final RpcSelectorLoop loop;

    private RpcServer(RpcSelectorLoop loop) {
        this.loop = loop;
    }

    /**
     * Binds {@code socketPath} and starts serving. A stale socket file (nobody listening) is replaced; one with a
     * live server behind it is an IOException.
     */
    public static RpcServer start(Path socketPath, RpcRegistry registry, RpcServerOptions options) throws IOException {
        return new RpcServer(RpcSelectorLoop.start(socketPath, registry, options));
    }

    public static RpcServer start(Path socketPath, RpcRegistry registry) throws IOException {
        return start(socketPath, registry, RpcServerOptions.defaults());
    }

    public Path socketPath() {
        return loop.socketPath();
    }

    /** Connections open right now. */
    public int connectionCount() {
        return loop.connectionCount();
    }

    /** Stops accepting, closes every connection, removes the socket file and joins the thread. Idempotent. */
    @Override
    public void close() {
        loop.close();
    }
}
