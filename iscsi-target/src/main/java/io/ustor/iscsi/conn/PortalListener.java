package io.ustor.iscsi.conn;

import io.ustor.env.Errno;
import io.ustor.env.net.Epoll;
import io.ustor.env.net.TcpSockets;
import io.ustor.reactor.MessageHandler;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;

/**
 * One listening portal: a non-blocking socket polled by the first reactor; each accepted connection is handed by
 * message to a reactor chosen round-robin, where it stays for its whole life.
 *
 * <p>It is a timed poller (every {@link #ACCEPT_PERIOD_NANOS}, as SPDK's acceptor) that looks at the socket's
 * readiness with a zero-timeout epoll_wait before accepting: an accept4 that finds no connection still allocates
 * and frees a socket inode in the kernel, and calling it on every reactor loop cost more CPU than the I/O itself.
 */
public final class PortalListener implements Poller {
    private static final System.Logger LOG = System.getLogger(PortalListener.class.getName());
    private static final long ACCEPT_PERIOD_NANOS = 1_000_000L;

    private final ReactorGroup group;
    private final Reactor acceptor;
    private final Connections connections;
    private final int portalGroupTag;
    private final int fd;
    private final InetSocketAddress bound;
    private final Epoll readiness;
    private PollerHandle handle;
    private volatile boolean closed;

    /** Where accepted sockets go: the per-reactor network pollers. */
    public interface Connections {
        void adopt(Reactor r, int fd, int portalGroupTag);
    }

    private static final MessageHandler ADOPT = (r, arg, value) -> {
        PortalListener l = (PortalListener) arg;
        l.connections.adopt(r, (int) value, l.portalGroupTag);
    };

    /** Binds and listens now (throws if the address is taken); accepting starts with {@link #start}. */
    public PortalListener(ReactorGroup group, Connections connections, int portalGroupTag, String host, int port) {
        this.group = group;
        this.acceptor = group.reactor(0);
        this.connections = connections;
        this.portalGroupTag = portalGroupTag;
        InetAddress addr;
        try {
            String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
            addr = InetAddress.getByName(h);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("portal host " + host + ": " + e.getMessage());
        }
        this.fd = TcpSockets.listen(new InetSocketAddress(addr, port), 128);
        this.bound = TcpSockets.localAddress(fd);
        Epoll e = null;
        try {
            e = Epoll.create(1);
            e.add(fd, Epoll.EPOLLIN, 0);
        } catch (RuntimeException ex) {
            if (e != null) {
                e.close();
            }
            TcpSockets.closeRaw(fd);
            throw ex;
        }
        this.readiness = e;
    }

    public InetSocketAddress boundAddress() {
        return bound;
    }

    public CompletableFuture<Void> start() {
        return acceptor.call(() -> {
            handle = acceptor.addTimedPoller("iscsi_accept " + bound, this, ACCEPT_PERIOD_NANOS);
            return null;
        });
    }

    @Override
    public int poll() {
        if (closed || readiness.waitRaw(0) <= 0) {
            return 0;
        }
        int work = 0;
        for (int i = 0; i < 16 && !closed; i++) {
            int c = TcpSockets.acceptRaw(fd);
            if (c < 0) {
                if (c != -Errno.EAGAIN && c != -Errno.EINTR && c != -Errno.ECONNABORTED) {
                    LOG.log(System.Logger.Level.WARNING, "portal {0}: accept: {1}", bound, Errno.name(-c));
                }
                break;
            }
            work++;
            Reactor r = group.next();
            if (!r.send(ADOPT, this, c)) {
                LOG.log(System.Logger.Level.WARNING, "portal {0}: reactor {1} queue full, connection refused", bound, r.name());
                TcpSockets.closeRaw(c);
            }
        }
        return work;
    }

    /** Stops accepting and closes the socket (existing connections stay). */
    public CompletableFuture<Void> stop() {
        closed = true;
        return acceptor.call(() -> {
            if (handle != null) {
                handle.unregister();
            }
            readiness.close();
            TcpSockets.closeRaw(fd);
            return null;
        });
    }
}
