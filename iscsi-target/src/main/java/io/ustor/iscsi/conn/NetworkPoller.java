package io.ustor.iscsi.conn;

import io.ustor.env.net.Epoll;
import io.ustor.iscsi.ConnectionInfo;
import io.ustor.iscsi.IscsiOptions;
import io.ustor.env.net.TcpSockets;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;

import java.util.Arrays;

/**
 * The iSCSI poller of one reactor: an epoll set of its connections, looked at without blocking on every poll;
 * readable connections parse what arrived, and connections with responses to send (or tasks to retry) flush.
 * One per reactor, created on first use, only ever touched by its reactor.
 */
public final class NetworkPoller implements Poller {
    private static final System.Logger LOG = System.getLogger(NetworkPoller.class.getName());

    private final Reactor reactor;
    private final TargetContext ctx;
    private final Epoll epoll = Epoll.create(64);
    private IscsiConnection[] conns = new IscsiConnection[16];
    /** Per slot: EPOLLOUT is in the connection's interest set (it has output the socket did not take). */
    private boolean[] wantsOut = new boolean[16];
    private int count;
    private PollerHandle handle;
    private PollerHandle timers;
    /** How often the connections' timers (login deadline, NOP-In ping and its answer) are looked at. */
    private static final long TIMER_PERIOD_NANOS = 250_000_000L;

    private final TaskBuffers taskBuffers;

    NetworkPoller(Reactor reactor, TargetContext ctx) {
        this.reactor = reactor;
        this.ctx = ctx;
        this.taskBuffers = TaskBuffers.create(ctx.bufferPool(), reactor.name());
    }

    /** The data buffers of this reactor's tasks. */
    TaskBuffers taskBuffers() {
        return taskBuffers;
    }

    void start() {
        // An interrupt poller: an ADAPTIVE reactor's idle sleep ends when a socket has bytes, not on its next tick.
        handle = reactor.addInterruptPoller("iscsi_conns", this, epoll.fd());
        timers = reactor.addTimedPoller("iscsi_conn_timers", this::checkTimers, TIMER_PERIOD_NANOS);
    }

    /** The timed poller: each connection's login deadline and NOP-In ping. */
    private int checkTimers() {
        if (count == 0) {
            return 0;
        }
        long now = System.nanoTime();
        IscsiOptions o = ctx.options();
        for (int i = 0; i < count; i++) {
            IscsiConnection c = conns[i];
            if (c != null && !c.isClosed()) {
                c.checkTimers(now, o);
            }
        }
        return 0;
    }

    public Reactor reactor() {
        return reactor;
    }

    public int connectionCount() {
        return count;
    }

    /** Takes over an accepted socket: TCP_NODELAY, the configured buffer sizes, a new connection on this reactor. */
    void adopt(int fd, int portalGroupTag) {
        try {
            TcpSockets.setNoDelay(fd, true);
            ctx.socketBuffers().applyTo(fd);
            IscsiConnection c = new IscsiConnection(ctx, reactor, this, fd, portalGroupTag);
            int slot = -1;
            for (int i = 0; i < count; i++) {
                if (conns[i] == null) {
                    slot = i;
                    break;
                }
            }
            if (slot < 0) {
                if (count == conns.length) {
                    conns = Arrays.copyOf(conns, count * 2);
                    wantsOut = Arrays.copyOf(wantsOut, count * 2);
                }
                slot = count++;
            }
            conns[slot] = c;
            wantsOut[slot] = false;
            c.setEpollToken(slot);
            epoll.add(fd, Epoll.EPOLLIN | Epoll.EPOLLRDHUP, slot);
            ctx.connectionOpened(c);
            LOG.log(System.Logger.Level.DEBUG, "{0}: accepted on {1}", c.name(), reactor.name());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "accepting fd " + fd + " failed", e);
            TcpSockets.closeRaw(fd);
        }
    }

    void remove(IscsiConnection c) {
        epoll.removeRaw(c.fd());
        int slot = c.epollToken();
        if (slot < conns.length && conns[slot] == c) {
            conns[slot] = null;
            wantsOut[slot] = false;
        }
    }

    @Override
    public int poll() {
        int work = 0;
        int n = epoll.waitRaw(0);
        for (int i = 0; i < n; i++) {
            int slot = (int) epoll.token(i);
            IscsiConnection c = slot < conns.length ? conns[slot] : null;
            if (c != null && !c.isClosed()) {
                work += c.onReadable();
            }
        }
        // Send what the reads and completions produced, retry what the socket did not take.
        for (int i = 0; i < count; i++) {
            IscsiConnection c = conns[i];
            if (c == null) {
                continue;
            }
            boolean flushed = c.needsService();
            if (flushed) {
                work += c.flush();
            }
            // A flush that failed closed the connection and emptied its slot: its descriptor may already be reused.
            if ((flushed || wantsOut[i]) && conns[i] == c) {
                watchWritable(i, c);
            }
        }
        return work;
    }

    /**
     * Asks epoll for EPOLLOUT while a connection still has work after a flush (mostly: output the socket did not
     * take), so an ADAPTIVE reactor sleeping on the epoll set wakes when the peer reads, instead of on a tick.
     */
    private void watchWritable(int slot, IscsiConnection c) {
        boolean want = c.needsService();
        if (want != wantsOut[slot]) {
            wantsOut[slot] = want;
            epoll.modifyRaw(c.fd(), Epoll.EPOLLIN | Epoll.EPOLLRDHUP | (want ? Epoll.EPOLLOUT : 0), slot);
        }
    }

    /** Closes every connection (target shutdown), on this reactor. */
    void closeAll(String why) {
        for (int i = 0; i < count; i++) {
            IscsiConnection c = conns[i];
            if (c != null) {
                c.close(why);
            }
        }
    }

    /**
     * The open connections of one target (every target when {@code targetName} is null; discovery sessions count
     * for none but all), after asking each to log out when {@code seconds > 0}.
     */
    int endSessions(String targetName, int seconds, String why) {
        int open = 0;
        for (int i = 0; i < count; i++) {
            IscsiConnection c = conns[i];
            if (c == null || c.isClosed() || (targetName != null && !targetName.equals(c.targetName()))) {
                continue;
            }
            if (seconds > 0) {
                c.requestLogout(seconds, why);
            }
            if (!c.isClosed()) {
                open++;
            }
        }
        return open;
    }

    /** Runs {@code visitor} on each open connection of this reactor. */
    void forEach(java.util.function.Consumer<IscsiConnection> visitor) {
        for (int i = 0; i < count; i++) {
            IscsiConnection c = conns[i];
            if (c != null && !c.isClosed()) {
                visitor.accept(c);
            }
        }
    }

    /** A snapshot for iscsi_get_connections (on this reactor). */
    java.util.List<ConnectionInfo> describe() {
        java.util.List<ConnectionInfo> out = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            IscsiConnection c = conns[i];
            if (c != null && !c.isClosed()) {
                out.add(new ConnectionInfo(c.cid(), c.tsih(), c.isidHex(), c.initiatorName(), c.targetName(),
                        c.localAddress().getAddress().getHostAddress(), c.peerAddress().getAddress().getHostAddress(),
                        c.portalGroupTag(), reactor.index(), c.isDiscovery()));
            }
        }
        return out;
    }

    void stop() {
        closeAll("target shutdown");
        if (handle != null) {
            handle.unregister();
        }
        if (timers != null) {
            timers.unregister();
        }
        epoll.close();
        taskBuffers.close();
    }
}
