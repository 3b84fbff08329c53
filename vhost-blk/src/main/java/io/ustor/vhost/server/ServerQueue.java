package io.ustor.vhost.server;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.env.Errno;
import io.ustor.env.Posix;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * A running virtqueue, device side, polled by the reactor that owns it: the virtio-blk request handling shared by
 * both ring layouts. A subclass reads requests from its ring ({@link SplitServerQueue}, {@link PackedServerQueue})
 * and resolves each descriptor chain into the request's guest-memory segments with {@link #addBuffer} and
 * {@link #mapIndirect}, which check every address against the memory table; this class validates the request,
 * turns it into bdev I/O on this reactor's channel, writes the status, and hands the request back to the ring
 * ({@link #writeUsed}), which publishes once per poll (batched) and signals the call eventfd when the driver
 * wants it. A chain that breaks the rules fails alone (used length 0); a ring that breaks them marks the queue
 * broken: it stops taking requests and touches nothing more.
 *
 * <p>With a dirty log (live migration) every guest-memory write the device makes is logged: the writable
 * segments of each completed request and the ring's used entries.
 *
 * <p>Everything after {@link #start} runs on the owning reactor. Per-request state is preallocated.
 */
abstract class ServerQueue implements Poller {
    static final System.Logger LOG = System.getLogger(ServerQueue.class.getName());
    static final int SEG_MAX = 128;
    /** Logged bad chains per queue; later ones are only counted. */
    private static final int LOGGED_ERRORS = 8;

    final String name;
    final int index, size;
    final GuestMemory mem;
    final boolean eventIdx, indirect;
    private final boolean readOnly;
    private final BdevDesc bdev;
    private final int blockSize, blockShift;
    private final long capacitySectors;
    private final byte[] serial;
    private final MemorySegment serialSegment;
    private final MemorySegment one = Arena.ofAuto().allocate(JAVA_LONG);
    private final Reactor reactor;
    private volatile int callFd;

    /** One task per ring entry: no more requests than entries can be in flight. */
    final BlkTask[] tasks;
    int inflight;
    boolean broken;
    private boolean stopping;
    private BdevChannel channel;
    private PollerHandle poller;
    private CompletableFuture<Integer> stopped;
    // Counters, read from other threads for reporting.
    volatile long requests, failedChains;
    /** Requests a predecessor left in flight, resubmitted at start from the inflight buffer. */
    volatile int resubmitted;
    private long errorsLogged;
    /** The dirty log while the front end has logging on, else null; and where the ring's used writes log (-1: not). */
    DirtyLog log;
    long ringLogGpa = -1;
    // An indirect table resolved by mapIndirect.
    MemorySegment table;
    long tableOffset;
    int tableCount;

    ServerQueue(String controller, int index, int size, GuestMemory mem, boolean eventIdx, boolean indirect,
                boolean readOnly, BdevDesc bdev, int callFd, Reactor reactor) {
        this.name = controller + " queue " + index;
        this.index = index;
        this.size = size;
        this.mem = mem;
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.readOnly = readOnly;
        this.bdev = bdev;
        this.blockSize = bdev.bdev().blockSize();
        this.blockShift = Integer.numberOfTrailingZeros(blockSize);
        this.capacitySectors = bdev.bdev().numBlocks() * blockSize / Virtio.SECTOR_SIZE;
        this.serial = serialOf(bdev.bdev().name());
        this.serialSegment = MemorySegment.ofArray(serial);
        this.callFd = callFd;
        this.reactor = reactor;
        one.set(JAVA_LONG, 0, 1L);
        tasks = new BlkTask[size];
        for (int i = 0; i < size; i++) {
            tasks[i] = new BlkTask(this, i);
        }
    }

    /** The serial (GET_ID): the bdev name in 20 bytes, cut or NUL-padded. */
    private static byte[] serialOf(String name) {
        return java.util.Arrays.copyOf(name.getBytes(java.nio.charset.StandardCharsets.US_ASCII), Virtio.BLK_ID_BYTES);
    }

    Reactor reactor() {
        return reactor;
    }

    int index() {
        return index;
    }

    boolean broken() {
        return broken;
    }

    /** On the reactor: takes a bdev channel, prepares the ring (no kicks: we poll), registers the poller. */
    final void start() {
        channel = bdev.getIoChannel();
        startRing();
        poller = reactor.addPoller("vhost " + name, this);
    }

    /** On the reactor, before polling starts: ring state from guest memory, requests left in flight resubmitted. */
    abstract void startRing();

    /** Takes what the driver made available; the number of requests taken. */
    abstract int fetch();

    /** Returns a finished request to the driver in the ring (visible at the next {@link #publish}) and frees its task. */
    abstract void writeUsed(BlkTask t);

    /** Makes the used entries written since the last call visible and signals the driver if it wants; the count. */
    abstract int publish();

    /** The vring base GET_VRING_BASE reports once stopped. */
    abstract int base();

    /**
     * On the reactor: stops taking requests; the future completes (on the reactor) with the vring base once every
     * request in flight completed and the used entries are published.
     */
    final CompletableFuture<Integer> stop() {
        stopping = true;
        stopped = new CompletableFuture<>();
        if (inflight == 0) {
            finishStop();
        }
        return stopped;
    }

    /** On the reactor: a new call eventfd; returns the old one for the caller to close. */
    final int swapCallFd(int fd) {
        int old = callFd;
        callFd = fd;
        return old;
    }

    /** On the reactor: logging on ({@code log} non-null) or off; {@code ringGpa} -1 leaves the ring unlogged. */
    void setLog(DirtyLog log, long ringGpa) {
        this.log = log;
        this.ringLogGpa = log == null ? -1 : ringGpa;
    }

    @Override
    public final int poll() {
        int work = 0;
        if (!stopping && !broken) {
            work += fetch();
        }
        work += publish();
        if (stopping && inflight == 0 && poller != null) {
            finishStop();
        }
        return work;
    }

    private void finishStop() {
        publish();
        if (poller != null) {
            poller.unregister();
            poller = null;
        }
        if (channel != null) {
            bdev.putIoChannel(channel);
            channel = null;
        }
        stopped.complete(base());
    }

    final void markBroken(String why) {
        if (!broken) {
            broken = true;
            LOG.log(System.Logger.Level.ERROR, "vhost {0}: device broken, the queue stops serving: {1}", name, why);
        }
    }

    final void signal() {
        int fd = callFd;
        if (fd >= 0) {
            Posix.writeRaw(fd, one, 8);
        }
    }

    /**
     * Adds a guest buffer to the task's chain, split where it crosses regions: 0, -EFAULT outside guest memory,
     * -E2BIG beyond the segments a request may have, -EINVAL for readable after writable.
     */
    final int addBuffer(BlkTask t, long addr, long len, boolean writable) {
        if (!writable && t.sawWritable) {
            return -Errno.EINVAL;
        }
        t.sawWritable |= writable;
        while (len > 0) {
            int r = mem.regionOfGpa(addr);
            if (r < 0) {
                return -Errno.EFAULT;
            }
            long off = addr - mem.regionGpa(r);
            long n = Math.min(len, mem.regionSize(r) - off);
            if (!t.addSegment(r, off, n, writable)) {
                return -Errno.E2BIG;
            }
            addr += n;
            len -= n;
        }
        return 0;
    }

    /**
     * Resolves an indirect table of {@code len} bytes at {@code addr} (whole descriptors, contiguous in one region)
     * into {@link #table}, {@link #tableOffset}, {@link #tableCount}: 0 or -errno.
     */
    final int mapIndirect(long addr, long len) {
        if (!indirect || len == 0 || len % Virtio.DESC_SIZE != 0 || len / Virtio.DESC_SIZE > Virtio.MAX_QUEUE_SIZE) {
            return -Errno.EINVAL;
        }
        int r = mem.regionOfGpa(addr);
        if (r < 0) {
            return -Errno.EFAULT;
        }
        long off = addr - mem.regionGpa(r);
        if (len > mem.regionSize(r) - off) {
            return -Errno.EFAULT;
        }
        table = mem.region(r);
        tableOffset = off;
        tableCount = (int) (len / Virtio.DESC_SIZE);
        return 0;
    }

    /** Validates and submits a request whose chain the ring resolved ({@code walk} 0) or failed (-errno). */
    final void serve(BlkTask t, int walk) {
        if (walk != 0) {
            failChain(t, walk);
            return;
        }
        if (t.readableBytes < Virtio.BLK_REQ_HEADER || t.writableBytes < 1) {
            failChain(t, -Errno.EINVAL);
            return;
        }
        t.decodeHeader(mem);
        int status = prepare(t);
        if (status >= 0) {
            complete(t, status);
            return;
        }
        int rc = submit(t);
        if (rc == -Errno.ENOMEM) {
            waitForIo(t);
        } else if (rc < 0) {
            complete(t, Virtio.BLK_S_IOERR);
        }
    }

    private void failChain(BlkTask t, int rc) {
        failedChains++;
        if (errorsLogged++ < LOGGED_ERRORS) {
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: bad descriptor chain at head {1} ({2}); request failed",
                    name, Integer.toString(t.head), Errno.name(-rc));
        }
        t.segCount = 0; // no status byte is trusted
        t.usedLength = 0;
        retire(t);
    }

    /**
     * Validates the request and fills the task's bdev parameters: -1 to submit, or a status to complete with now
     * (GET_ID and requests that need no bdev I/O answer here).
     */
    private int prepare(BlkTask t) {
        long sector = t.offsetBlocks;
        switch (t.type) {
            case Virtio.BLK_T_IN, Virtio.BLK_T_OUT -> {
                boolean in = t.type == Virtio.BLK_T_IN;
                if (!in && readOnly) {
                    return Virtio.BLK_S_IOERR;
                }
                long bytes = t.collectData(mem, !in);
                if (bytes == 0 || bytes > Integer.MAX_VALUE - 1 || (bytes & (blockSize - 1)) != 0 || sector < 0 || sector > capacitySectors
                        || ((sector << Virtio.SECTOR_SHIFT) & (blockSize - 1)) != 0
                        || (bytes >>> Virtio.SECTOR_SHIFT) > capacitySectors - sector) {
                    return Virtio.BLK_S_IOERR;
                }
                t.offsetBlocks = (sector << Virtio.SECTOR_SHIFT) >>> blockShift;
                t.numBlocks = bytes >>> blockShift;
                t.usedLength = in ? (int) bytes : 0;
                return -1;
            }
            case Virtio.BLK_T_FLUSH -> {
                if (readOnly) {
                    return Virtio.BLK_S_OK; // nothing this controller wrote can be unflushed
                }
                t.offsetBlocks = 0;
                t.numBlocks = bdev.bdev().numBlocks();
                return -1;
            }
            case Virtio.BLK_T_GET_ID -> {
                if (t.writableBytes - 1 < Virtio.BLK_ID_BYTES) {
                    return Virtio.BLK_S_IOERR;
                }
                t.usedLength = t.writeData(mem, serialSegment, serial.length);
                return Virtio.BLK_S_OK;
            }
            case Virtio.BLK_T_DISCARD, Virtio.BLK_T_WRITE_ZEROES -> {
                if (readOnly) {
                    return Virtio.BLK_S_IOERR;
                }
                // One segment per request (max_discard_seg = max_write_zeroes_seg = 1).
                if (t.readableBytes - Virtio.BLK_REQ_HEADER != Virtio.BLK_DISCARD_SEGMENT) {
                    return Virtio.BLK_S_UNSUPP;
                }
                MemorySegment seg = t.readableBytes(mem, Virtio.BLK_REQ_HEADER, Virtio.BLK_DISCARD_SEGMENT);
                long start = seg.get(JAVA_LONG_UNALIGNED, 0);
                long count = Integer.toUnsignedLong(seg.get(JAVA_INT_UNALIGNED, 8));
                int flags = seg.get(JAVA_INT_UNALIGNED, 12);
                if (t.type == Virtio.BLK_T_DISCARD && flags != 0) {
                    return Virtio.BLK_S_UNSUPP; // the unmap flag (or unknown ones) on discard
                }
                if ((flags & ~Virtio.BLK_WRITE_ZEROES_F_UNMAP) != 0) {
                    return Virtio.BLK_S_UNSUPP;
                }
                if (count == 0 || start < 0 || start > capacitySectors || count > capacitySectors - start
                        || ((start << Virtio.SECTOR_SHIFT) & (blockSize - 1)) != 0
                        || ((count << Virtio.SECTOR_SHIFT) & (blockSize - 1)) != 0) {
                    return Virtio.BLK_S_IOERR;
                }
                t.offsetBlocks = (start << Virtio.SECTOR_SHIFT) >>> blockShift;
                t.numBlocks = (count << Virtio.SECTOR_SHIFT) >>> blockShift;
                return -1;
            }
            default -> {
                return Virtio.BLK_S_UNSUPP;
            }
        }
    }

    /** Submits the prepared request on this reactor's channel: 0 or -errno. */
    final int submit(BlkTask t) {
        return switch (t.type) {
            case Virtio.BLK_T_IN -> bdev.readv(channel, t.iovs, t.iovCount, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_OUT -> bdev.writev(channel, t.iovs, t.iovCount, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_FLUSH -> bdev.flush(channel, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_DISCARD -> bdev.unmap(channel, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_WRITE_ZEROES -> bdev.writeZeroes(channel, t.offsetBlocks, t.numBlocks, t, null);
            default -> -Errno.EINVAL;
        };
    }

    final void waitForIo(BlkTask t) {
        if (bdev.queueIoWait(channel, t) != 0) {
            complete(t, Virtio.BLK_S_IOERR);
        }
    }

    /** Finishes a request with a virtio-blk status: status byte, used entry (published at the next poll). */
    final void complete(BlkTask t, int status) {
        t.writeStatus(mem, status);
        t.usedLength = status == Virtio.BLK_S_OK ? t.usedLength + 1 : 1;
        DirtyLog l = log;
        if (l != null) {
            t.logWritable(mem, l); // data, serial and status: everything the device may have written
        }
        retire(t);
    }

    private void retire(BlkTask t) {
        writeUsed(t);
        t.clearIovs();
        t.busy = false;
        inflight--;
    }

    @Override
    public String toString() {
        return "vhost " + name;
    }
}
