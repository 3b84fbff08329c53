package io.ustor.vhost.server;

import io.ustor.bdev.BdevDesc;
import io.ustor.env.Posix;
import io.ustor.reactor.Reactor;
import io.ustor.vhost.protocol.VhostProtocolException;
import io.ustor.vhost.protocol.VhostUserConnection;
import io.ustor.vhost.protocol.VhostUserMessage;
import io.ustor.vhost.virtio.BlkConfig;
import io.ustor.vhost.virtio.Virtio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ustor.vhost.protocol.VhostUserRequest.*;

/**
 * One front end (one QEMU) connected to a controller: the vhost-user back-end state machine. Runs on the
 * controller's control thread; queues run on reactors and are started and stopped through reactor calls, so a
 * ring's memory is never changed while its reactor uses it.
 */
public final class VhostSession implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VhostSession.class.getName());
    private static final long STOP_TIMEOUT_SECONDS = 30;

    /** What a controller serves, fixed for its lifetime. */
    public record Device(String name, BdevDesc bdev, boolean readOnly, int maxQueues, List<Reactor> reactors,
                         long features, BlkConfig config) {
    }

    private final Device device;
    private final VhostUserConnection conn;
    private final VhostUserMessage in = new VhostUserMessage(), out = new VhostUserMessage();
    private final QueueState[] queues;
    private long ackedFeatures, ackedProtocol;
    private boolean protocolFeaturesAcked;
    private volatile long resubmitted;
    private GuestMemory memory;
    /** The front end's inflight buffer (SET_INFLIGHT_FD), or null. */
    private InflightRegion inflight;
    /** The front end's dirty log (SET_LOG_BASE), or null; logging runs while it is set and LOG_ALL is acked. */
    private DirtyLog dirtyLog;
    private int logEventFd = -1;
    private boolean warnedInflightShape;

    /** Per-queue configuration as the front end sent it, and the running queue when started. */
    private static final class QueueState {
        int num;
        long descVa, availVa, usedVa, logGpa;
        int addrFlags;
        boolean addrSet, kicked, enabled;
        int base;
        int kickFd = -1, callFd = -1, errFd = -1;
        ServerQueue running;
    }

    public VhostSession(Device device, int fd) {
        this.device = device;
        this.conn = new VhostUserConnection(fd);
        this.queues = new QueueState[device.maxQueues()];
        for (int i = 0; i < queues.length; i++) {
            queues[i] = new QueueState();
        }
    }

    public int fd() {
        return conn.fd();
    }

    /** Requests resubmitted from the inflight buffer when queues started (left by a previous back end). */
    public long resubmitted() {
        return resubmitted;
    }

    /** Number of queues running now. */
    public int runningQueues() {
        int n = 0;
        for (QueueState q : queues) {
            n += q.running != null ? 1 : 0;
        }
        return n;
    }

    /** Reads and handles one message. IOException: the connection is gone or unusable; close the session. */
    public void handleOne() throws IOException {
        conn.read(in);
        int request = in.request();
        boolean ok;
        boolean replied = false;
        try {
            replied = dispatch(request);
            ok = true;
        } catch (VhostProtocolException | IllegalArgumentException | IndexOutOfBoundsException e) {
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: {1} rejected: {2}", device.name(), name(request), e.getMessage());
            ok = false;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "vhost " + device.name() + ": " + name(request) + " failed", e);
            ok = false;
        } finally {
            in.closeFds();
        }
        if (!replied && in.needsReply() && Virtio.has(ackedProtocol, PROTOCOL_F_REPLY_ACK)) {
            out.begin(request, FLAG_REPLY).putLong(0, ok ? 0 : 1);
            conn.write(out);
        } else if (!ok && replied) {
            // a request with its own reply that failed gets no reply: the front end sees the connection closed
            throw new IOException(name(request) + " failed");
        }
    }

    /** Handles a request; true when it sent its own reply. */
    private boolean dispatch(int request) throws IOException {
        switch (request) {
            case GET_FEATURES -> {
                return reply(device.features() | (1L << F_PROTOCOL_FEATURES));
            }
            case SET_FEATURES -> {
                long f = in.getLong(0);
                long offered = device.features() | (1L << F_PROTOCOL_FEATURES);
                if ((f & ~offered) != 0) {
                    throw new VhostProtocolException("features 0x" + Long.toHexString(f & ~offered) + " were not offered");
                }
                boolean logChange = Virtio.has(f ^ ackedFeatures, Virtio.F_LOG_ALL);
                ackedFeatures = f;
                protocolFeaturesAcked = Virtio.has(f, F_PROTOCOL_FEATURES);
                if (logChange) {
                    LOG.log(System.Logger.Level.INFO, "vhost {0}: dirty logging {1}", device.name(),
                            Virtio.has(f, Virtio.F_LOG_ALL) ? "on" : "off");
                    updateLogging();
                }
            }
            case GET_PROTOCOL_FEATURES -> {
                return reply(protocolFeatures());
            }
            case SET_PROTOCOL_FEATURES -> {
                long f = in.getLong(0);
                if ((f & ~protocolFeatures()) != 0) {
                    throw new VhostProtocolException("protocol features 0x" + Long.toHexString(f & ~protocolFeatures()) + " were not offered");
                }
                ackedProtocol = f;
            }
            case SET_OWNER -> {
            }
            case RESET_OWNER, RESET_DEVICE -> {
                stopAll(false);
                ackedFeatures = 0;
                protocolFeaturesAcked = false;
            }
            case GET_QUEUE_NUM -> {
                return reply(device.maxQueues());
            }
            case SET_MEM_TABLE -> setMemTable();
            case SET_VRING_NUM -> {
                QueueState q = queue(in.getInt(0));
                int num = in.getInt(4);
                // Packed rings may have any size; a split ring's must be a power of two (checked at start).
                if (num <= 0 || num > Virtio.MAX_QUEUE_SIZE) {
                    throw new VhostProtocolException("queue size " + num + " outside 1.." + Virtio.MAX_QUEUE_SIZE);
                }
                requireStopped(q, "SET_VRING_NUM");
                q.num = num;
            }
            case SET_VRING_ADDR -> {
                QueueState q = queue(in.getInt(0));
                int flags = in.getInt(4);
                long d = in.getLong(8), u = in.getLong(16), a = in.getLong(24), logGpa = in.getLong(32);
                if (q.running != null) {
                    // Migration turns used-ring logging on and off on a running ring: only the log may change.
                    if (d != q.descVa || u != q.usedVa || a != q.availVa) {
                        throw new VhostProtocolException("SET_VRING_ADDR moving a running queue");
                    }
                    q.addrFlags = flags;
                    q.logGpa = logGpa;
                    pushLog(q);
                    return false;
                }
                if ((d & 15) != 0 || (a & 1) != 0 || (u & 3) != 0) {
                    throw new VhostProtocolException("misaligned ring addresses");
                }
                q.descVa = d;
                q.usedVa = u;
                q.availVa = a;
                q.addrFlags = flags;
                q.logGpa = logGpa;
                q.addrSet = true;
            }
            case SET_VRING_BASE -> {
                QueueState q = queue(in.getInt(0));
                requireStopped(q, "SET_VRING_BASE");
                // Split: the next available index. Packed: available position and wrap in bits 0-15, used in 16-31.
                q.base = in.getInt(4);
            }
            case GET_VRING_BASE -> {
                int index = in.getInt(0);
                QueueState q = queue(index);
                stopQueue(q);
                q.kicked = false;
                q.enabled = false;
                closeFd(q.kickFd);
                q.kickFd = -1;
                out.begin(GET_VRING_BASE, FLAG_REPLY).putInt(0, index).putInt(4, q.base);
                conn.write(out);
                return true;
            }
            case SET_VRING_KICK -> {
                QueueState q = queue(vringIndex());
                closeFd(q.kickFd);
                q.kickFd = takeVringFd();
                q.kicked = true;
                if (!protocolFeaturesAcked) {
                    q.enabled = true; // without protocol features a ring starts enabled
                }
                maybeStart(queueIndex(q), q);
            }
            case SET_VRING_CALL -> {
                QueueState q = queue(vringIndex());
                int fd = takeVringFd();
                int old = q.callFd;
                q.callFd = fd;
                ServerQueue r = q.running;
                if (r != null) {
                    old = await(r.reactor().call(() -> r.swapCallFd(fd)));
                }
                closeFd(old);
            }
            case SET_VRING_ERR -> {
                QueueState q = queue(vringIndex());
                closeFd(q.errFd);
                q.errFd = takeVringFd();
            }
            case SET_VRING_ENABLE -> {
                QueueState q = queue(in.getInt(0));
                boolean enable = in.getInt(4) != 0;
                q.enabled = enable;
                if (enable) {
                    maybeStart(queueIndex(q), q);
                } else {
                    stopQueue(q);
                }
            }
            case GET_CONFIG -> {
                int offset = in.getInt(0), size = in.getInt(4);
                if (offset < 0 || size < 0 || size > MAX_CONFIG_SIZE || offset > MAX_CONFIG_SIZE - size) {
                    throw new VhostProtocolException("config range " + offset + "+" + size);
                }
                // A reader may ask for more than the config has (SPDK asks for 256 bytes): fill what exists.
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment cfg = arena.allocate(MAX_CONFIG_SIZE);
                    device.config().write(cfg, 0);
                    out.begin(GET_CONFIG, FLAG_REPLY).putInt(0, offset).putInt(4, size).putInt(8, in.getInt(8));
                    out.setSize(12 + size);
                    out.putBytes(12, cfg, offset, size);
                }
                conn.write(out);
                return true;
            }
            case SET_CONFIG -> throw new VhostProtocolException("the virtio-blk config is read-only here (no CONFIG_WCE)");
            case GET_INFLIGHT_FD -> {
                // payload: mmap_size u64, mmap_offset u64, num_queues u16, queue_size u16 (QEMU pads to 24)
                int numQueues = in.getUnsignedShort(16), queueSize = in.getUnsignedShort(18);
                // The layout follows the ring type: front ends set the features first (QEMU does, for this).
                InflightRegion.checkShape(numQueues, queueSize, device.maxQueues(), packed());
                int fd = InflightRegion.createFd(device.name(), numQueues, queueSize, packed());
                try {
                    out.begin(GET_INFLIGHT_FD, FLAG_REPLY).putLong(0, InflightRegion.bytes(numQueues, queueSize, packed()))
                            .putLong(8, 0).putShort(16, (short) numQueues).putShort(18, (short) queueSize)
                            .putInt(20, 0); // QEMU wants exactly its padded struct: 24 bytes
                    out.addFd(fd);
                    conn.write(out);
                } finally {
                    Posix.closeRaw(fd); // the front end keeps it and gives it back with SET_INFLIGHT_FD
                }
                return true;
            }
            case SET_INFLIGHT_FD -> {
                long mmapSize = in.getLong(0), mmapOffset = in.getLong(8);
                int numQueues = in.getUnsignedShort(16), queueSize = in.getUnsignedShort(18);
                if (in.fdCount() != 1) {
                    throw new VhostProtocolException("SET_INFLIGHT_FD came with " + in.fdCount() + " descriptors, not 1");
                }
                for (QueueState q : queues) {
                    requireStopped(q, "SET_INFLIGHT_FD");
                }
                InflightRegion fresh = InflightRegion.map(in.takeFd(0), mmapSize, mmapOffset, numQueues, queueSize,
                        device.maxQueues(), packed());
                if (inflight != null) {
                    inflight.unmap();
                }
                inflight = fresh;
                LOG.log(System.Logger.Level.INFO, "vhost {0}: inflight buffer for {1} queue(s) of {2}", device.name(),
                        Integer.toString(numQueues), Integer.toString(queueSize));
            }
            case SET_LOG_BASE -> {
                if (!Virtio.has(ackedProtocol, PROTOCOL_F_LOG_SHMFD) || in.fdCount() != 1) {
                    throw new VhostProtocolException("SET_LOG_BASE needs LOG_SHMFD and one descriptor (got " + in.fdCount() + ")");
                }
                long logSize = in.getLong(0), logOffset = in.getLong(8);
                DirtyLog fresh = DirtyLog.map(in.takeFd(0), logSize, logOffset);
                DirtyLog old = dirtyLog;
                dirtyLog = fresh;
                updateLogging();
                if (old != null) {
                    old.unmap(); // no queue holds it any more
                }
                LOG.log(System.Logger.Level.INFO, "vhost {0}: dirty log of {1} bytes", device.name(), Long.toString(logSize));
                // With LOG_SHMFD the front end waits for this reply before it reads the log.
                out.begin(SET_LOG_BASE, FLAG_REPLY).putLong(0, 0);
                conn.write(out);
                return true;
            }
            case SET_LOG_FD -> {
                int fd = takeVringFd();
                closeFd(logEventFd);
                logEventFd = fd; // optional: this device does not notify the front end about log writes
            }
            case GET_MAX_MEM_SLOTS -> {
                return reply(MAX_MEM_REGIONS);
            }
            default -> throw new VhostProtocolException("unsupported request " + request);
        }
        return false;
    }

    private long protocolFeatures() {
        return (1L << PROTOCOL_F_MQ) | (1L << PROTOCOL_F_REPLY_ACK) | (1L << PROTOCOL_F_CONFIG)
                | (1L << PROTOCOL_F_INFLIGHT_SHMFD) | (1L << PROTOCOL_F_LOG_SHMFD);
    }

    private boolean packed() {
        return Virtio.has(ackedFeatures, Virtio.F_RING_PACKED);
    }

    /** The log while logging is on (a log set and LOG_ALL acked), else null. */
    private DirtyLog activeLog() {
        return Virtio.has(ackedFeatures, Virtio.F_LOG_ALL) ? dirtyLog : null;
    }

    /**
     * Where a queue's used-ring writes are logged, or -1: with VHOST_VRING_F_LOG, the split ring's used ring at
     * log_guest_addr; the packed ring writes used descriptors into its descriptor ring, logged at that ring's
     * guest address.
     */
    private long ringLogGpa(QueueState q) {
        if ((q.addrFlags & Virtio.VRING_F_LOG) == 0) {
            return -1;
        }
        return packed() ? memory.gpaOfUser(q.descVa) : q.logGpa;
    }

    private void updateLogging() {
        for (QueueState q : queues) {
            pushLog(q);
        }
    }

    /** Gives a running queue the current log state, on its reactor. */
    private void pushLog(QueueState q) {
        ServerQueue r = q.running;
        if (r == null) {
            return;
        }
        DirtyLog l = activeLog();
        long gpa = ringLogGpa(q);
        await(r.reactor().call(() -> {
            r.setLog(l, gpa);
            return null;
        }));
    }

    private boolean reply(long value) throws IOException {
        out.begin(in.request(), FLAG_REPLY).putLong(0, value);
        conn.write(out);
        return true;
    }

    private QueueState queue(int index) {
        if (index < 0 || index >= queues.length) {
            throw new VhostProtocolException("queue index " + index + " outside 0.." + (queues.length - 1));
        }
        return queues[index];
    }

    private int queueIndex(QueueState q) {
        for (int i = 0; i < queues.length; i++) {
            if (queues[i] == q) {
                return i;
            }
        }
        throw new IllegalStateException();
    }

    private int vringIndex() {
        return (int) (in.getLong(0) & VRING_IDX_MASK);
    }

    /** The descriptor of a SET_VRING_KICK/CALL/ERR (or -1 for the no-fd flag: polling). */
    private int takeVringFd() {
        if ((in.getLong(0) & VRING_NOFD_MASK) != 0) {
            return -1;
        }
        if (in.fdCount() != 1) {
            throw new VhostProtocolException(name(in.request()) + " came with " + in.fdCount() + " descriptors, not 1");
        }
        return in.takeFd(0);
    }

    private static void requireStopped(QueueState q, String what) {
        if (q.running != null) {
            throw new VhostProtocolException(what + " on a running queue");
        }
    }

    private void setMemTable() {
        int n = in.getInt(0);
        if (n < 1 || n > MAX_MEM_REGIONS) {
            throw new VhostProtocolException("memory table with " + n + " regions");
        }
        if (in.fdCount() != n) {
            throw new VhostProtocolException("memory table of " + n + " regions came with " + in.fdCount() + " descriptors");
        }
        long[] gpa = new long[n], size = new long[n], ua = new long[n], off = new long[n];
        int[] fds = new int[n];
        for (int i = 0; i < n; i++) {
            int b = 8 + 32 * i;
            gpa[i] = in.getLong(b);
            size[i] = in.getLong(b + 8);
            ua[i] = in.getLong(b + 16);
            off[i] = in.getLong(b + 24);
        }
        for (int i = 0; i < n; i++) {
            fds[i] = in.takeFd(i);
        }
        GuestMemory fresh = GuestMemory.map(n, gpa, size, ua, off, fds);
        // Replace safely: stop the queues that use the old table, swap, restart them on the new one.
        boolean[] wasRunning = new boolean[queues.length];
        try {
            for (int i = 0; i < queues.length; i++) {
                wasRunning[i] = queues[i].running != null;
                stopQueue(queues[i]);
            }
        } catch (RuntimeException e) {
            fresh.unmap();
            throw e;
        }
        GuestMemory old = memory;
        memory = fresh;
        if (old != null) {
            old.unmap();
        }
        for (int i = 0; i < queues.length; i++) {
            if (wasRunning[i]) {
                maybeStart(i, queues[i]);
            }
        }
    }

    private void maybeStart(int index, QueueState q) {
        if (q.running != null || memory == null || !q.addrSet || q.num == 0 || !q.kicked || !q.enabled) {
            return;
        }
        int n = q.num;
        boolean packed = packed();
        if (!packed && Integer.bitCount(n) != 1) {
            throw new VhostProtocolException("queue " + index + ": split ring size " + n + " is not a power of two");
        }
        MemorySegment desc = memory.userRange(q.descVa, Virtio.descTableBytes(n));
        MemorySegment avail = memory.userRange(q.availVa, packed ? Virtio.EVENT_SUPPRESS_BYTES : Virtio.availRingBytes(n));
        MemorySegment used = memory.userRange(q.usedVa, packed ? Virtio.EVENT_SUPPRESS_BYTES : Virtio.usedRingBytes(n));
        if (desc == null || avail == null || used == null) {
            throw new VhostProtocolException("queue " + index + ": ring addresses outside the memory table");
        }
        List<Reactor> rs = device.reactors();
        Reactor reactor = rs.get(index % rs.size());
        boolean eventIdx = Virtio.has(ackedFeatures, Virtio.F_EVENT_IDX);
        boolean indirectDesc = Virtio.has(ackedFeatures, Virtio.F_INDIRECT_DESC);
        ServerQueue sq;
        MemorySegment inflightQueue = inflight == null ? null : inflight.queue(index, n, packed);
        if (inflight != null && inflightQueue == null && !warnedInflightShape) {
            warnedInflightShape = true;
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: the inflight buffer ({1} x {2}, {3} layout) does not fit "
                    + "queue {4}; it runs untracked", device.name(), Integer.toString(inflight.numQueues()),
                    Integer.toString(inflight.queueSize()), inflight.packed() ? "packed" : "split", Integer.toString(index));
        }
        if (packed) {
            sq = new PackedServerQueue(device.name(), index, n, memory, desc, avail, used, q.base, eventIdx,
                    indirectDesc, device.readOnly(), device.bdev(), q.callFd, reactor, inflightQueue);
        } else {
            sq = new SplitServerQueue(device.name(), index, n, memory, desc, avail, used, q.base, eventIdx,
                    indirectDesc, device.readOnly(), device.bdev(), q.callFd, reactor, inflightQueue);
        }
        DirtyLog log = activeLog();
        long logGpa = ringLogGpa(q);
        await(reactor.call(() -> {
            sq.setLog(log, logGpa);
            sq.start();
            return null;
        }));
        q.running = sq;
        resubmitted += sq.resubmitted;
        LOG.log(System.Logger.Level.INFO, "vhost {0}: {1} queue {2} started on {3} (size {4}, base 0x{5})", device.name(),
                packed ? "packed" : "split", Integer.toString(index), reactor.name(), Integer.toString(n),
                Integer.toHexString(q.base));
    }

    /** Stops a running queue after its requests in flight complete; its next available index becomes the base. */
    private void stopQueue(QueueState q) {
        ServerQueue r = q.running;
        if (r == null) {
            return;
        }
        java.util.concurrent.CompletableFuture<Integer> stopped = await(r.reactor().call(r::stop));
        q.base = await(stopped);
        q.running = null;
    }

    private void stopAll(boolean closeFds) {
        for (QueueState q : queues) {
            try {
                stopQueue(q);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "vhost " + device.name() + ": stopping a queue failed", e);
            }
            if (closeFds) {
                closeFd(q.kickFd);
                closeFd(q.callFd);
                closeFd(q.errFd);
                q.kickFd = q.callFd = q.errFd = -1;
            }
        }
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("a reactor did not answer in " + STOP_TIMEOUT_SECONDS + " s", e);
        }
    }

    private static void closeFd(int fd) {
        if (fd >= 0) {
            Posix.closeRaw(fd);
        }
    }

    /** Wakes a control thread blocked reading this session. Any thread. */
    public void shutdown() {
        conn.shutdown();
    }

    /** Stops every queue (waiting for requests in flight), unmaps guest memory, closes descriptors and the socket. */
    @Override
    public void close() {
        stopAll(true);
        if (memory != null) {
            if (runningQueues() == 0) {
                memory.unmap();
            } else {
                // A queue that did not stop may still touch guest memory: leak the mapping rather than crash.
                LOG.log(System.Logger.Level.ERROR, "vhost {0}: {1} queue(s) did not stop; guest memory stays mapped",
                        device.name(), Integer.toString(runningQueues()));
            }
            memory = null;
        }
        if (inflight != null && runningQueues() == 0) {
            inflight.unmap();
            inflight = null;
        }
        if (dirtyLog != null && runningQueues() == 0) {
            dirtyLog.unmap();
            dirtyLog = null;
        }
        closeFd(logEventFd);
        logEventFd = -1;
        in.closeFds();
        conn.close();
    }
}
