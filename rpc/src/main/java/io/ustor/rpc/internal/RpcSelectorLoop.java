package io.ustor.rpc.internal;

import com.fasterxml.jackson.databind.node.NullNode;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.RpcServerOptions;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/** The RPC server's selector thread: accepts, reads, writes, enforces the limits. */
public final class RpcSelectorLoop implements Runnable {
    private static final System.Logger LOG = System.getLogger(RpcSelectorLoop.class.getName());

    private final Path socketPath;
    private final RpcServerOptions options;
    private final RpcDispatcher dispatcher;
    private final Selector selector;
    private final ServerSocketChannel server;
    private final Set<RpcConnection> connections = new HashSet<>();
    private final ConcurrentLinkedQueue<RpcConnection> ready = new ConcurrentLinkedQueue<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile int connectionCount;
    private long accepted;

    private RpcSelectorLoop(Path socketPath, RpcRegistry registry, RpcServerOptions options) throws IOException {
        this.socketPath = socketPath.toAbsolutePath();
        this.options = options;
        this.dispatcher = new RpcDispatcher(registry);
        removeStaleSocket(this.socketPath);
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(this.socketPath), 512);
            server.configureBlocking(false);
            this.selector = Selector.open();
            server.register(selector, SelectionKey.OP_ACCEPT);
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on RPC socket " + this.socketPath + ": " + e.getMessage(), e);
        }
        this.thread = new Thread(this, "rpc-server");
        this.thread.setDaemon(true);
    }

    public static RpcSelectorLoop start(Path socketPath, RpcRegistry registry, RpcServerOptions options)
            throws IOException {
        RpcSelectorLoop loop = new RpcSelectorLoop(socketPath, registry, options);
        loop.thread.start();
        LOG.log(System.Logger.Level.INFO, "RPC server listening on {0}", loop.socketPath);
        return loop;
    }

    /** A socket file nobody listens on is left over from a crash: remove it. A live one is an error. */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (someoneListens(path)) {
            throw new IOException("RPC socket " + path + " is in use by another process");
        }
        Files.deleteIfExists(path);
    }

    private static boolean someoneListens(Path path) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            return true;
        } catch (IOException e) {
            return false; // ECONNREFUSED (stale), or not a socket at all
        }
    }

    public Path socketPath() {
        return socketPath;
    }

    public int connectionCount() {
        return connectionCount;
    }

    RpcServerOptions options() {
        return options;
    }

    /** Any thread: {@code c} has responses ready. */
    void wakeup(RpcConnection c) {
        ready.add(c);
        selector.wakeup();
    }

    /** Selector thread: {@code c} closed itself. */
    void removed(RpcConnection c) {
        connections.remove(c);
        connectionCount = connections.size();
    }

    @Override
    public void run() {
        long idleNanos = options.idleTimeout().toNanos();
        long nextIdleCheck = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        try {
            while (running) {
                selector.select(1000);
                RpcConnection c;
                while ((c = ready.poll()) != null) {
                    if (!c.isClosed()) {
                        c.onResponsesReady();
                    }
                }
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.isAcceptable()) {
                        accept();
                        continue;
                    }
                    RpcConnection conn = (RpcConnection) k.attachment();
                    if (k.isWritable()) {
                        conn.flush();
                    }
                    if (k.isValid() && k.isReadable()) {
                        conn.onReadable(readBuffer);
                    }
                }
                long now = System.nanoTime();
                if (now - nextIdleCheck >= 0) {
                    nextIdleCheck = now + TimeUnit.SECONDS.toNanos(1);
                    for (RpcConnection conn : new ArrayList<>(connections)) {
                        if (conn.quiet() && now - conn.lastActivityNanos > idleNanos) {
                            LOG.log(System.Logger.Level.INFO, "rpc conn {0}: idle, closing", conn.name);
                            conn.close();
                        }
                    }
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (running) {
                LOG.log(System.Logger.Level.ERROR, "RPC server loop failed", e);
            }
        } finally {
            for (RpcConnection conn : new ArrayList<>(connections)) {
                conn.close();
            }
        }
    }

    private void accept() {
        SocketChannel ch;
        try {
            ch = server.accept();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "RPC accept failed: {0}", e.toString());
            return;
        }
        if (ch == null) {
            return;
        }
        String name = "#" + (++accepted);
        if (connections.size() >= options.maxConnections()) {
            LOG.log(System.Logger.Level.WARNING, "rpc conn {0}: refused, {1} connections already open",
                    name, connections.size());
            refuse(ch);
            return;
        }
        try {
            ch.configureBlocking(false);
            RpcConnection conn = new RpcConnection(name, ch, this, dispatcher);
            conn.key = ch.register(selector, SelectionKey.OP_READ, conn);
            connections.add(conn);
            connectionCount = connections.size();
            LOG.log(System.Logger.Level.DEBUG, "rpc conn {0}: accepted", name);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "rpc conn {0}: setup failed: {1}", name, e.toString());
            closeQuietly(ch);
        }
    }

    /** Over the connection limit: a best-effort error response (never blocking), then close. */
    private void refuse(SocketChannel ch) {
        try {
            ch.configureBlocking(false);
            ch.write(ByteBuffer.wrap(dispatcher.encode(dispatcher.error(NullNode.getInstance(),
                    RpcException.INTERNAL_ERROR, "Too many RPC connections (limit " + options.maxConnections() + ")"))));
        } catch (IOException ignored) {
            // the client goes away either way
        }
        closeQuietly(ch);
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    public void close() {
        if (!running) {
            return;
        }
        running = false;
        selector.wakeup();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not remove RPC socket {0}: {1}", socketPath, e.toString());
        }
        LOG.log(System.Logger.Level.INFO, "RPC server on {0} stopped", socketPath);
    }
}
