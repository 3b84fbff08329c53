package io.ustor.vhost;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevEventType;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.env.EventFd;
import io.ustor.env.Posix;
import io.ustor.env.unix.PollSet;
import io.ustor.env.unix.UnixSockets;
import io.ustor.reactor.Reactor;
import io.ustor.vhost.server.VhostSession;
import io.ustor.vhost.virtio.BlkConfig;
import io.ustor.vhost.virtio.Virtio;

import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A vhost-user-blk controller: a Unix socket where one front end (QEMU) at a time connects and drives a
 * virtio-blk device backed by a bdev. A control thread per controller speaks the protocol; the queues run on the
 * reactors of the controller's cpumask (queue i on the i-th of them, round robin). A front end that goes away may
 * connect again. One controller's trouble (a hostile front end) stays on its thread and its queues.
 */
public final class VhostBlkController implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VhostBlkController.class.getName());

    private final VhostBlkOptions options;
    private final BdevDesc desc;
    private final VhostSession.Device device;
    private final int listenFd;
    private final EventFd stopEvent;
    private final Thread control;
    private volatile VhostSession session;
    private volatile boolean closed;
    private volatile long connections;
    private volatile long resubmittedBefore;

    private VhostBlkController(VhostBlkOptions options, BdevDesc desc, List<Reactor> reactors) {
        this.options = options;
        this.desc = desc;
        Bdev b = desc.bdev();
        this.device = new VhostSession.Device(options.ctrlr(), desc, options.readOnly(), options.maxQueues(),
                List.copyOf(reactors), features(b, options.readOnly(), options.packedRing()), config(b, options));
        this.stopEvent = EventFd.create(true);
        try {
            this.listenFd = UnixSockets.listen(options.socketPath(), 1, true);
        } catch (RuntimeException e) {
            stopEvent.close();
            throw e;
        }
        this.control = Thread.ofPlatform().name("vhost-" + options.ctrlr()).daemon().unstarted(this::run);
    }

    /**
     * Opens the bdev (read-only when {@code readOnly}), listens on {@code socketDir/ctrlr} and starts serving.
     */
    public static VhostBlkController create(VhostBlkOptions options, BdevRegistry bdevs) {
        List<Reactor> reactors = new ArrayList<>();
        for (Reactor r : bdevs.reactors().reactors()) {
            if (options.cpumask() == null || options.cpumask().contains(r.core())) {
                reactors.add(r);
            }
        }
        if (reactors.isEmpty()) {
            throw new IllegalArgumentException("vhost " + options.ctrlr() + ": cpumask " + options.cpumask() + " has no reactor");
        }
        BdevDesc desc = bdevs.open(options.devName(), !options.readOnly(), (type, d) -> {
            if (type == BdevEventType.REMOVE) {
                LOG.log(System.Logger.Level.WARNING, "vhost {0}: bdev {1} is being removed", options.ctrlr(), options.devName());
            }
        });
        try {
            VhostBlkController c = new VhostBlkController(options, desc, reactors);
            c.control.start();
            LOG.log(System.Logger.Level.INFO, "vhost {0}: serving bdev {1} on {2}{3}", options.ctrlr(), options.devName(),
                    options.socketPath(), options.readOnly() ? " (read-only)" : "");
            return c;
        } catch (RuntimeException e) {
            desc.close();
            throw e;
        }
    }

    /** Device features offered: VHOST_F_LOG_ALL always (live migration), the packed ring when configured. */
    static long features(Bdev b, boolean readOnly, boolean packedRing) {
        long f = (1L << Virtio.F_VERSION_1) | (1L << Virtio.F_INDIRECT_DESC) | (1L << Virtio.F_EVENT_IDX)
                | (1L << Virtio.BLK_F_SEG_MAX) | (1L << Virtio.BLK_F_BLK_SIZE) | (1L << Virtio.BLK_F_TOPOLOGY)
                | (1L << Virtio.BLK_F_MQ) | (1L << Virtio.BLK_F_FLUSH) | (1L << Virtio.F_LOG_ALL);
        if (packedRing) {
            f |= 1L << Virtio.F_RING_PACKED;
        }
        if (readOnly) {
            f |= 1L << Virtio.BLK_F_RO;
        } else {
            if (b.supportsIoType(IoType.UNMAP)) {
                f |= 1L << Virtio.BLK_F_DISCARD;
            }
            if (b.supportsIoType(IoType.WRITE_ZEROES) || b.supportsIoType(IoType.WRITE)) {
                f |= 1L << Virtio.BLK_F_WRITE_ZEROES;
            }
        }
        return f;
    }

    static BlkConfig config(Bdev b, VhostBlkOptions o) {
        int bs = b.blockSize();
        long capacity = b.numBlocks() * bs / Virtio.SECTOR_SIZE;
        int maxSectors = (int) Math.min(Integer.MAX_VALUE / Virtio.SECTOR_SIZE, capacity);
        int optimal = b.optimalIoBoundaryBlocks();
        return new BlkConfig(capacity, 0, 128, bs, 0, 1,
                optimal > 0 ? optimal : 0, false, o.maxQueues(),
                maxSectors, 1, bs / Virtio.SECTOR_SIZE, maxSectors, 1, b.supportsIoType(IoType.UNMAP));
    }

    public String name() {
        return options.ctrlr();
    }

    public VhostBlkOptions options() {
        return options;
    }

    public String bdevName() {
        return desc.bdev().name();
    }

    /** Whether a front end is connected now. */
    public boolean connected() {
        return session != null;
    }

    /** Queues running now (0 when no front end is connected). */
    public int runningQueues() {
        VhostSession s = session;
        return s == null ? 0 : s.runningQueues();
    }

    /** Requests resubmitted from front ends' inflight buffers (left in flight by an earlier back end), all sessions. */
    public long resubmittedRequests() {
        VhostSession s = session;
        return resubmittedBefore + (s == null ? 0 : s.resubmitted());
    }

    /** Front ends accepted so far. */
    public long connections() {
        return connections;
    }

    private void run() {
        PollSet poll = new PollSet(3);
        while (!closed) {
            VhostSession s = session;
            poll.set(0, stopEvent.fd(), PollSet.POLLIN);
            // One front end at a time: a new one waits in the listen backlog until the current one is gone.
            poll.set(1, s == null ? listenFd : -1, PollSet.POLLIN);
            poll.set(2, s == null ? -1 : s.fd(), PollSet.POLLIN);
            try {
                poll.poll(-1);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "vhost " + name() + ": poll failed", e);
                break;
            }
            if (closed || poll.revents(0) != 0) {
                break;
            }
            if (s == null && poll.revents(1) != 0) {
                accept();
            }
            if (s != null && poll.revents(2) != 0) {
                try {
                    s.handleOne();
                } catch (EOFException e) {
                    LOG.log(System.Logger.Level.INFO, "vhost {0}: front end disconnected", name());
                    endSession(s);
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "vhost {0}: closing the connection: {1}", name(), e.toString());
                    endSession(s);
                }
            }
        }
        VhostSession s = session;
        if (s != null) {
            endSession(s);
        }
    }

    private void accept() {
        int fd = UnixSockets.acceptRaw(listenFd, false);
        if (fd < 0) {
            if (fd != -Errno.EAGAIN) {
                LOG.log(System.Logger.Level.WARNING, "vhost {0}: accept failed: {1}", name(), Errno.name(-fd));
            }
            return;
        }
        if (session != null) {
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: a second front end tried to connect; refused", name());
            Posix.closeRaw(fd);
            return;
        }
        connections++;
        session = new VhostSession(device, fd);
        LOG.log(System.Logger.Level.INFO, "vhost {0}: front end connected", name());
    }

    private void endSession(VhostSession s) {
        resubmittedBefore += s.resubmitted();
        try {
            s.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "vhost " + name() + ": closing the session failed", e);
        }
        session = null;
    }

    /** Disconnects the front end (its queues stop after their requests complete), removes the socket, closes the bdev. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopEvent.signal();
        VhostSession s = session;
        if (s != null) {
            s.shutdown();
        }
        try {
            control.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Posix.closeRaw(listenFd);
        try {
            java.nio.file.Files.deleteIfExists(options.socketPath());
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: could not remove {1}: {2}", name(), options.socketPath(), e.toString());
        }
        stopEvent.close();
        desc.close();
        LOG.log(System.Logger.Level.INFO, "vhost {0}: deleted", name());
    }

    @Override
    public String toString() {
        return "vhost-user-blk controller " + name() + " (bdev " + bdevName() + ", " + options.socketPath() + ")";
    }
}
