package io.ustor.vhost.client;

import io.ustor.env.DmaRegion;
import io.ustor.env.EventFd;
import io.ustor.env.unix.PollSet;
import io.ustor.env.unix.UnixSockets;
import io.ustor.vhost.protocol.VhostProtocolException;
import io.ustor.vhost.protocol.VhostUserConnection;
import io.ustor.vhost.protocol.VhostUserMessage;
import io.ustor.vhost.virtio.BlkConfig;
import io.ustor.vhost.virtio.Virtio;

import java.io.IOException;
import java.nio.file.Path;

import static io.ustor.vhost.protocol.VhostUserRequest.*;

/**
 * The vhost-user front end of a virtio-blk device: connects to a back end's socket, negotiates features, reads
 * the virtio-blk config, shares its memory (one memfd region holding rings and bounce buffers, plus the process's
 * DMA memory when asked: {@link DirectRegions}) and starts the queues, each with its own kick and call eventfd. Control-plane only; the queues ({@link DriverQueue}) are then
 * driven by whoever polls them.
 */
public final class VhostUserClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VhostUserClient.class.getName());
    /** Device features this driver understands. */
    static final long DRIVER_FEATURES = (1L << Virtio.F_VERSION_1) | (1L << Virtio.F_INDIRECT_DESC)
            | (1L << Virtio.F_EVENT_IDX) | (1L << Virtio.BLK_F_SEG_MAX) | (1L << Virtio.BLK_F_BLK_SIZE)
            | (1L << Virtio.BLK_F_TOPOLOGY) | (1L << Virtio.BLK_F_MQ) | (1L << Virtio.BLK_F_FLUSH)
            | (1L << Virtio.BLK_F_RO) | (1L << Virtio.BLK_F_DISCARD) | (1L << Virtio.BLK_F_WRITE_ZEROES)
            | (1L << Virtio.BLK_F_SIZE_MAX) | (1L << Virtio.F_RING_PACKED) | (1L << F_PROTOCOL_FEATURES);

    private final Path path;
    private volatile VhostUserConnection conn;
    private final VhostUserMessage out = new VhostUserMessage(), in = new VhostUserMessage();
    private long features, protocol;
    private BlkConfig config;
    private SharedMemory memory;
    /** DMA memory the back end reaches directly (requests with data there skip the bounce buffers). */
    private DirectRegions direct = DirectRegions.NONE;
    private VirtqueueDriver[] queues;
    /** The dirty log given to the back end (startDirtyLog), or null. */
    private java.lang.foreign.MemorySegment logSegment;
    private int logFd = -1;
    private EventFd[] kicks, calls;
    private int queueSize, numQueues;
    /** The back end's inflight buffer (PROTOCOL_F_INFLIGHT_SHMFD), kept for the next back end; -1 without. */
    private int inflightFd = -1;
    private long inflightSize;
    private volatile boolean closed;
    private volatile long reconnects;
    private Thread watcher;

    private VhostUserClient(Path path, int fd) {
        this.path = path;
        this.conn = new VhostUserConnection(fd);
    }

    /**
     * Connects and starts {@code wantQueues} queues (fewer when the back end offers fewer) of {@code queueSize}
     * entries, with bounce buffers of {@code bounceBytes} per request.
     *
     * @param featureMask device features to leave out (0: take all offered that this driver knows)
     */
    public static VhostUserClient connect(Path socket, int wantQueues, int queueSize, int bounceBytes, long featureMask)
            throws IOException {
        return connect(socket, wantQueues, queueSize, bounceBytes, featureMask, DirectRegions.SHARE_BY_DEFAULT);
    }

    /**
     * As {@link #connect(Path, int, int, int, long)}; with {@code shareDmaMemory} the process's DMA memory (its
     * hugetlbfs-backed regions that exist now) is given to the back end as guest memory, and reads and writes of one
     * buffer there go without a copy (off: every request's data goes through its slot's bounce buffer).
     */
    public static VhostUserClient connect(Path socket, int wantQueues, int queueSize, int bounceBytes, long featureMask,
                                          boolean shareDmaMemory) throws IOException {
        if (Integer.bitCount(queueSize) != 1 || queueSize < 4 || queueSize > Virtio.MAX_QUEUE_SIZE) {
            throw new IllegalArgumentException("queue size " + queueSize + " must be a power of two in 4.." + Virtio.MAX_QUEUE_SIZE);
        }
        VhostUserClient c = new VhostUserClient(socket, UnixSockets.connect(socket));
        try {
            c.setUp(wantQueues, queueSize, bounceBytes, featureMask, shareDmaMemory);
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void setUp(int wantQueues, int queueSize, int bounceBytes, long featureMask, boolean shareDmaMemory)
            throws IOException {
        send(out.begin(SET_OWNER, 0));
        long offered = query(GET_FEATURES);
        if (!Virtio.has(offered, Virtio.F_VERSION_1)) {
            throw new VhostProtocolException(path + ": the back end does not offer VIRTIO_F_VERSION_1");
        }
        features = offered & DRIVER_FEATURES & ~featureMask;
        if (Virtio.has(features, F_PROTOCOL_FEATURES)) {
            long p = query(GET_PROTOCOL_FEATURES);
            protocol = p & ((1L << PROTOCOL_F_MQ) | (1L << PROTOCOL_F_REPLY_ACK) | (1L << PROTOCOL_F_CONFIG)
                    | (1L << PROTOCOL_F_INFLIGHT_SHMFD) | (1L << PROTOCOL_F_LOG_SHMFD));
            send(out.begin(SET_PROTOCOL_FEATURES, 0).putLong(0, protocol));
        }
        int maxQueues = 1;
        if (Virtio.has(protocol, PROTOCOL_F_MQ)) {
            maxQueues = (int) Math.max(1, query(GET_QUEUE_NUM));
        }
        if (Virtio.has(protocol, PROTOCOL_F_CONFIG)) {
            // Ask for exactly what this driver reads: some back ends reject sizes beyond their struct.
            out.begin(GET_CONFIG, 0).putInt(0, 0).putInt(4, BlkConfig.CLIENT_READ_SIZE).putInt(8, 0);
            out.setSize(12 + BlkConfig.CLIENT_READ_SIZE);
            conn.write(out);
            readReply(GET_CONFIG);
            if (in.size() != 12 + BlkConfig.CLIENT_READ_SIZE) {
                throw new VhostProtocolException(path + ": GET_CONFIG reply of " + in.size() + " bytes");
            }
            config = BlkConfig.read(in.payload(), 12, BlkConfig.CLIENT_READ_SIZE);
        } else {
            throw new VhostProtocolException(path + ": the back end has no CONFIG protocol feature; the disk size is unknown");
        }
        int n = Math.min(wantQueues, maxQueues);
        if (Virtio.has(features, Virtio.BLK_F_MQ) && config.numQueues() > 0) {
            n = Math.min(n, config.numQueues());
        } else if (!Virtio.has(features, Virtio.BLK_F_MQ)) {
            n = 1;
        }
        // Features before the inflight buffer, as QEMU sends them: its layout depends on the ring type.
        send(out.begin(SET_FEATURES, 0).putLong(0, features));
        if (Virtio.has(protocol, PROTOCOL_F_INFLIGHT_SHMFD)) {
            // As QEMU: the back end makes the buffer, the front end keeps it and gives it to every back end after.
            conn.write(out.begin(GET_INFLIGHT_FD, 0).putLong(0, 0).putLong(8, 0).putShort(16, (short) n)
                    .putShort(18, (short) queueSize).putInt(20, 0));
            conn.read(in);
            if (in.request() != GET_INFLIGHT_FD || (in.flags() & FLAG_REPLY) == 0 || in.fdCount() != 1) {
                in.closeFds();
                throw new VhostProtocolException(path + ": bad reply to GET_INFLIGHT_FD: " + in);
            }
            inflightFd = in.takeFd(0);
            inflightSize = in.getLong(0);
            in.closeFds();
        }
        this.queueSize = queueSize;
        this.numQueues = n;
        sendInflight();

        boolean indirect = Virtio.has(features, Virtio.F_INDIRECT_DESC);
        boolean eventIdx = Virtio.has(features, Virtio.F_EVENT_IDX);
        boolean packed = Virtio.has(features, Virtio.F_RING_PACKED);
        long perQueue = packed ? PackedDriverQueue.bytesNeeded(queueSize, bounceBytes, indirect)
                : DriverQueue.bytesNeeded(queueSize, bounceBytes, indirect);
        memory = new SharedMemory("vhost-client-" + path.getFileName(), perQueue * n);
        direct = shareDmaMemory ? DirectRegions.ofProcess(memory.gpa(memory.size()) + (1L << 30)) : DirectRegions.NONE;
        sendMemoryTable();
        queues = new VirtqueueDriver[n];
        kicks = new EventFd[n];
        calls = new EventFd[n];
        for (int q = 0; q < n; q++) {
            kicks[q] = EventFd.create(true);
            calls[q] = EventFd.create(true);
            queues[q] = packed ? new PackedDriverQueue(q, queueSize, memory, perQueue * q, bounceBytes, indirect, kicks[q].fd(),
                    direct) : new DriverQueue(q, queueSize, memory, perQueue * q, bounceBytes, indirect, eventIdx,
                    kicks[q].fd(), direct);
        }
        startQueues();
        LOG.log(System.Logger.Level.INFO, "vhost-user client {0}: {1} queue(s) of {2}, features 0x{3}, {4} DMA memory"
                        + " region(s) shared", path, Integer.toString(n), Integer.toString(queueSize),
                Long.toHexString(features), Integer.toString(direct.count()));
    }

    private void sendInflight() throws IOException {
        if (inflightFd >= 0) {
            sendAcked(out.begin(SET_INFLIGHT_FD, 0).putLong(0, inflightSize).putLong(8, 0)
                    .putShort(16, (short) numQueues).putShort(18, (short) queueSize).putInt(20, 0).addFd(inflightFd));
        }
    }

    /** The rings' memfd first, then the shared DMA regions (same table, same descriptors, on every reconnect). */
    private void sendMemoryTable() throws IOException {
        out.begin(SET_MEM_TABLE, 0).putInt(0, 1 + direct.count()).putInt(4, 0)
                .putLong(8, memory.gpa(0)).putLong(16, memory.size()).putLong(24, memory.segment().address()).putLong(32, 0)
                .addFd(memory.fd());
        for (int i = 0; i < direct.count(); i++) {
            int b = 8 + 32 * (i + 1);
            DmaRegion r = direct.region(i);
            out.putLong(b, direct.gpa(i)).putLong(b + 8, r.size()).putLong(b + 16, r.vaddr()).putLong(b + 24, 0)
                    .addFd(r.fd());
        }
        sendAcked();
    }

    /**
     * Rings to the back end: size, base, addresses, call and kick eventfds, enable. The base is the used index
     * in the ring (0 at first; after a reconnect what the driver saw completed, as QEMU restores it when the old
     * back end could not answer GET_VRING_BASE): a back end with the inflight buffer knows better and says so.
     */
    private void startQueues() throws IOException {
        long base = memory.segment().address();
        for (int q = 0; q < queues.length; q++) {
            VirtqueueDriver dq = queues[q];
            send(out.begin(SET_VRING_NUM, 0).putInt(0, q).putInt(4, queueSize));
            send(out.begin(SET_VRING_BASE, 0).putInt(0, q).putInt(4, dq.vringBase()));
            sendAcked(out.begin(SET_VRING_ADDR, 0).putInt(0, q).putInt(4, 0).putLong(8, base + dq.descOffset())
                    .putLong(16, base + dq.deviceAreaOffset()).putLong(24, base + dq.driverAreaOffset()).putLong(32, 0));
            send(out.begin(SET_VRING_CALL, 0).putLong(0, q).addFd(calls[q].fd()));
            sendAcked(out.begin(SET_VRING_KICK, 0).putLong(0, q).addFd(kicks[q].fd()));
        }
        if (Virtio.has(features, F_PROTOCOL_FEATURES)) {
            for (int q = 0; q < queues.length; q++) {
                sendAcked(out.begin(SET_VRING_ENABLE, 0).putInt(0, q).putInt(4, 1));
            }
        }
    }

    /**
     * Reconnects whenever the back end goes away (QEMU's chardev {@code reconnect=N}): a watcher thread sees the
     * socket hang up, connects again every {@code retryMillis} until a back end answers, and hands it the same
     * device (features, inflight buffer, memory table, rings with their eventfds). Requests in flight stay in the
     * rings: a back end with the inflight buffer resubmits them, so each completes once.
     */
    public synchronized void enableReconnect(long retryMillis) {
        if (watcher != null || closed) {
            return;
        }
        watcher = Thread.ofPlatform().name("vhost-client-reconnect-" + path.getFileName()).daemon()
                .start(() -> watch(retryMillis));
    }

    /** Back ends connected after the first. */
    public long reconnects() {
        return reconnects;
    }

    private void watch(long retryMillis) {
        PollSet poll = new PollSet(1);
        while (!closed) {
            poll.set(0, conn.fd(), PollSet.POLLIN);
            try {
                poll.poll(200);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "vhost-user client {0}: poll: {1}", path, e.toString());
            }
            if ((poll.revents(0) & (PollSet.POLLHUP | PollSet.POLLERR | PollSet.POLLNVAL)) == 0) {
                continue; // nothing, or a reply another control call is about to read
            }
            LOG.log(System.Logger.Level.WARNING, "vhost-user client {0}: the back end went away; reconnecting", path);
            while (!closed) {
                try {
                    if (reconnect()) {
                        LOG.log(System.Logger.Level.INFO, "vhost-user client {0}: reconnected", path);
                    }
                    break;
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "vhost-user client {0}: reconnect: {1}", path, e.toString());
                }
                try {
                    Thread.sleep(retryMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** One attempt: a new connection that gets the same device again. False when the client closed meanwhile. */
    private synchronized boolean reconnect() throws IOException {
        if (closed) {
            return false;
        }
        VhostUserConnection fresh = new VhostUserConnection(UnixSockets.connect(path));
        VhostUserConnection old = conn;
        conn = fresh;
        try {
            send(out.begin(SET_OWNER, 0));
            long offered = query(GET_FEATURES);
            if ((offered & features) != features) {
                throw new VhostProtocolException(path + ": the new back end lacks features 0x" + Long.toHexString(features & ~offered));
            }
            if (Virtio.has(features, F_PROTOCOL_FEATURES)) {
                long p = query(GET_PROTOCOL_FEATURES);
                if ((p & protocol) != protocol) {
                    throw new VhostProtocolException(path + ": the new back end lacks protocol features 0x"
                            + Long.toHexString(protocol & ~p));
                }
                send(out.begin(SET_PROTOCOL_FEATURES, 0).putLong(0, protocol));
            }
            if (Virtio.has(protocol, PROTOCOL_F_MQ) && query(GET_QUEUE_NUM) < queues.length) {
                throw new VhostProtocolException(path + ": the new back end offers fewer than " + queues.length + " queues");
            }
            send(out.begin(SET_FEATURES, 0).putLong(0, features));
            sendInflight();
            sendMemoryTable();
            startQueues();
        } catch (IOException | RuntimeException e) {
            conn = old;
            fresh.close();
            throw e;
        }
        old.close();
        reconnects++;
        return true;
    }

    private void send(VhostUserMessage m) throws IOException {
        conn.write(m);
    }

    /** Sends with need_reply when REPLY_ACK was negotiated, and checks the ack. */
    private void sendAcked(VhostUserMessage m) throws IOException {
        boolean ack = Virtio.has(protocol, PROTOCOL_F_REPLY_ACK);
        int request = m.request();
        if (ack) {
            m.buffer().set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 4, FLAG_VERSION | FLAG_NEED_REPLY);
        }
        conn.write(m);
        if (ack) {
            readReply(request);
            if (in.getLong(0) != 0) {
                throw new IOException(path + ": the back end refused " + name(request));
            }
        }
    }

    private void sendAcked() throws IOException {
        sendAcked(out);
    }

    private long query(int request) throws IOException {
        conn.write(out.begin(request, 0));
        readReply(request);
        return in.getLong(0);
    }

    private void readReply(int request) throws IOException {
        conn.read(in);
        in.closeFds();
        if (in.request() != request || (in.flags() & FLAG_REPLY) == 0) {
            throw new VhostProtocolException(path + ": expected a reply to " + name(request) + ", got " + in);
        }
    }

    public long features() {
        return features;
    }

    public BlkConfig config() {
        return config;
    }

    /** DMA memory regions given to the back end as guest memory at attach (0: every request bounces). */
    public int sharedDmaRegions() {
        return direct.count();
    }

    public int queueCount() {
        return queues.length;
    }

    /** Queue {@code i} when the rings are split (the raw view hostile-driver tests use). */
    public DriverQueue queue(int i) {
        if (!(queues[i] instanceof DriverQueue d)) {
            throw new IllegalStateException(path + ": queue " + i + " is a packed ring");
        }
        return d;
    }

    /** Queue {@code i} when the rings are packed. */
    public PackedDriverQueue packedQueue(int i) {
        if (!(queues[i] instanceof PackedDriverQueue p)) {
            throw new IllegalStateException(path + ": queue " + i + " is a split ring");
        }
        return p;
    }

    /** Queue {@code i}, either ring layout. */
    public VirtqueueDriver ring(int i) {
        return queues[i];
    }

    public boolean packed() {
        return Virtio.has(features, Virtio.F_RING_PACKED);
    }

    public SharedMemory memory() {
        return memory;
    }

    public Path path() {
        return path;
    }

    /**
     * Sends a raw message (fuzzing and protocol tests): request, flags beyond the version, a payload, descriptors.
     * Returns without waiting for anything.
     */
    public void sendRaw(int request, int flags, byte[] payload, int... fds) throws IOException {
        out.begin(request, flags);
        if (payload.length > 0) {
            out.putBytes(0, java.lang.foreign.MemorySegment.ofArray(payload), 0, payload.length);
        }
        for (int fd : fds) {
            out.addFd(fd);
        }
        conn.write(out);
    }

    /**
     * Sends the memory table again (as QEMU does after memory hotplug): the back end must stop its queues, swap the
     * table and resume them without losing requests. Control thread only; queues may be busy on reactors.
     */
    public synchronized void resendMemoryTable() throws IOException {
        sendMemoryTable();
    }

    /**
     * Turns dirty logging on as QEMU does when a live migration starts: a log (a memfd, one bit per 4 KiB page of
     * guest physical space up to the end of the shared memory) goes to the back end with SET_LOG_BASE, whose reply
     * says it is mapped; then SET_FEATURES with VHOST_F_LOG_ALL, and SET_VRING_ADDR on each running ring with
     * VHOST_VRING_F_LOG and the guest address of its used ring (packed: device area). Returns the log as mapped here.
     */
    public synchronized java.lang.foreign.MemorySegment startDirtyLog() throws IOException {
        if (!Virtio.has(protocol, PROTOCOL_F_LOG_SHMFD)) {
            throw new VhostProtocolException(path + ": the back end has no LOG_SHMFD protocol feature");
        }
        if (logSegment == null) {
            long pages = (Math.max(memory.gpa(memory.size()), direct.endGpa()) + 4095) / 4096;
            long bytes = ((pages + 7) / 8 + 4095) / 4096 * 4096;
            logFd = io.ustor.env.MemFd.create("vhost-client-log", bytes, io.ustor.env.MemFd.MFD_CLOEXEC);
            logSegment = io.ustor.env.Mman.mmap(java.lang.foreign.MemorySegment.NULL, bytes,
                    io.ustor.env.Mman.PROT_READ | io.ustor.env.Mman.PROT_WRITE, io.ustor.env.Mman.MAP_SHARED, logFd, 0);
        }
        conn.write(out.begin(SET_LOG_BASE, 0).putLong(0, logSegment.byteSize()).putLong(8, 0).addFd(logFd));
        readReply(SET_LOG_BASE);
        sendAcked(out.begin(SET_FEATURES, 0).putLong(0, features | (1L << Virtio.F_LOG_ALL)));
        setRingLogging(true);
        return logSegment;
    }

    /** Turns dirty logging off again (SET_FEATURES without LOG_ALL, rings without VHOST_VRING_F_LOG). */
    public synchronized void stopDirtyLog() throws IOException {
        sendAcked(out.begin(SET_FEATURES, 0).putLong(0, features));
        setRingLogging(false);
    }

    private void setRingLogging(boolean on) throws IOException {
        long base = memory.segment().address();
        for (int q = 0; q < queues.length; q++) {
            VirtqueueDriver dq = queues[q];
            sendAcked(out.begin(SET_VRING_ADDR, 0).putInt(0, q).putInt(4, on ? Virtio.VRING_F_LOG : 0)
                    .putLong(8, base + dq.descOffset()).putLong(16, base + dq.deviceAreaOffset())
                    .putLong(24, base + dq.driverAreaOffset()).putLong(32, on ? memory.gpa(dq.deviceAreaOffset()) : 0));
        }
    }

    /** Writes raw bytes on the socket (a front end that breaks the framing). */
    public void sendRawFrame(byte[] bytes) throws IOException {
        java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(bytes.length);
        java.lang.foreign.MemorySegment.copy(bytes, 0, seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
        long n = new io.ustor.env.unix.FdMessenger(conn.fd()).send(seg, 0, bytes.length, null, 0, false);
        if (n != bytes.length) {
            throw new IOException("short raw write: " + n);
        }
    }

    /** Stops the queues (GET_VRING_BASE waits for the back end to finish them) and disconnects. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (inflightFd >= 0) {
            io.ustor.env.Posix.closeRaw(inflightFd);
            inflightFd = -1;
        }
        try {
            if (queues != null) {
                for (int q = 0; q < queues.length; q++) {
                    if (queues[q] != null) {
                        conn.write(out.begin(GET_VRING_BASE, 0).putInt(0, q).putInt(4, 0));
                        readReply(GET_VRING_BASE);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "vhost-user client {0}: stopping queues: {1}", path, e.toString());
        }
        conn.close();
        if (kicks != null) {
            for (int i = 0; i < kicks.length; i++) {
                if (kicks[i] != null) kicks[i].close();
                if (calls[i] != null) calls[i].close();
            }
        }
        if (memory != null) {
            memory.close();
        }
        if (logSegment != null) {
            io.ustor.env.Mman.munmap(logSegment);
            io.ustor.env.Posix.closeRaw(logFd);
            logSegment = null;
        }
    }
}
