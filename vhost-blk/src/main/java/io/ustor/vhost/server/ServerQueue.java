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
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A running split virtqueue, device side, polled by the reactor that owns it: takes requests from the available
 * ring, validates every descriptor against the guest memory table, turns them into bdev I/O on this reactor's
 * channel, and returns them through the used ring, publishing the used index and signalling the call eventfd once
 * per poll (batched). A chain that breaks the rules fails alone (used length 0, or IOERR when its status byte is
 * known); a ring that breaks them (index jump beyond the size, head beyond the ring) marks the queue broken: it
 * stops taking requests and touches nothing more.
 *
 * <p>Everything after {@link #start} runs on the owning reactor. Per-request state is preallocated.
 */
final class ServerQueue implements Poller {
    private static final System.Logger LOG = System.getLogger(ServerQueue.class.getName());
    static final int SEG_MAX = 128;
    /** Logged bad chains per queue; later ones are only counted. */
    private static final int LOGGED_ERRORS = 8;

    private final String name;
    private final int index, size;
    private final GuestMemory mem;
    private final MemorySegment desc, avail, used;
    private final boolean eventIdx, indirect, readOnly;
    private final BdevDesc bdev;
    private final int blockSize, blockShift;
    private final long capacitySectors;
    private final byte[] serial;
    private final MemorySegment serialSegment;
    private final MemorySegment one = Arena.ofAuto().allocate(JAVA_LONG);
    private final Reactor reactor;
    private volatile int callFd;
    /** Inflight tracking in the front end's shared buffer (PROTOCOL_F_INFLIGHT_SHMFD), or null. */
    private final InflightQueue inflightLog;

    /** One task per ring entry, used by the request whose chain starts there (a head is in flight at most once). */
    private final BlkTask[] tasks;
    private int lastAvail, usedIdx, signalledUsed, pendingUsed;
    private int inflight;
    private boolean broken, stopping;
    private BdevChannel channel;
    private PollerHandle poller;
    private CompletableFuture<Integer> stopped;
    // Counters, read from other threads for reporting.
    volatile long requests, failedChains;
    /** Requests a predecessor left in flight, resubmitted at start from the inflight buffer. */
    volatile int resubmitted;
    private long errorsLogged;

    ServerQueue(String controller, int index, int size, GuestMemory mem, MemorySegment desc, MemorySegment avail,
                MemorySegment used, int lastAvail, boolean eventIdx, boolean indirect, boolean readOnly, BdevDesc bdev,
                int callFd, Reactor reactor, MemorySegment inflightRegion) {
        this.name = controller + " queue " + index;
        this.index = index;
        this.size = size;
        this.mem = mem;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.lastAvail = lastAvail & 0xffff;
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
        this.inflightLog = inflightRegion == null ? null : new InflightQueue(inflightRegion, size);
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

    /**
     * On the reactor: takes a bdev channel, tells the driver not to kick (we poll), registers the poller. With an
     * inflight buffer, requests a previous back end took but never returned are resubmitted (oldest first) and the
     * next available index follows from them, whatever base the front end sent.
     */
    void start() {
        channel = bdev.getIoChannel();
        usedIdx = Short.toUnsignedInt(used.get(JAVA_SHORT, 2));
        signalledUsed = usedIdx;
        int[] resubmit = null;
        if (inflightLog != null) {
            InflightQueue.Recovery r = inflightLog.recover(usedIdx);
            if (r.problem() != null) {
                LOG.log(System.Logger.Level.WARNING, "vhost {0}: inflight buffer ignored and reset: {1}", name, r.problem());
            }
            if (!r.fresh()) {
                int derived = (usedIdx + r.resubmit().length) & 0xffff;
                if (derived != lastAvail) {
                    LOG.log(System.Logger.Level.INFO, "vhost {0}: next available index {1} from the inflight buffer (front end said {2})",
                            name, Integer.toString(derived), Integer.toString(lastAvail));
                }
                lastAvail = derived;
                resubmit = r.resubmit();
            }
        }
        if (eventIdx) {
            setAvailEvent();
        } else {
            used.set(JAVA_SHORT, 0, (short) Virtio.USED_F_NO_NOTIFY);
        }
        poller = reactor.addPoller("vhost " + name, this);
        if (resubmit != null && resubmit.length > 0) {
            LOG.log(System.Logger.Level.INFO, "vhost {0}: resubmitting {1} request(s) left in flight",
                    name, Integer.toString(resubmit.length));
            resubmitted = resubmit.length;
            for (int head : resubmit) {
                BlkTask t = tasks[head];
                t.busy = true;
                inflight++;
                requests++;
                t.reset(head);
                process(t);
            }
        }
    }

    /** Event index far ahead of the driver: it never needs to kick a polled queue. */
    private void setAvailEvent() {
        used.set(JAVA_SHORT, 4 + 8L * size, (short) (lastAvail + 0x8000));
    }

    /**
     * On the reactor: stops taking requests; the future completes (on the reactor) with the next available index
     * once every request in flight completed and the used ring is published.
     */
    CompletableFuture<Integer> stop() {
        stopping = true;
        stopped = new CompletableFuture<>();
        if (inflight == 0) {
            finishStop();
        }
        return stopped;
    }

    /** On the reactor: a new call eventfd; returns the old one for the caller to close. */
    int swapCallFd(int fd) {
        int old = callFd;
        callFd = fd;
        return old;
    }

    @Override
    public int poll() {
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
        stopped.complete(lastAvail);
    }

    private int fetch() {
        int availIdx = Short.toUnsignedInt(avail.get(JAVA_SHORT, 2));
        VarHandle.acquireFence(); // ring entries after the index
        int pending = (availIdx - lastAvail) & 0xffff;
        if (pending == 0) {
            return 0;
        }
        if (pending > size) {
            markBroken("available index " + availIdx + " is " + pending + " ahead of " + lastAvail + ", beyond the ring size " + size);
            return 0;
        }
        int taken = 0;
        while (taken < pending) {
            int head = Short.toUnsignedInt(avail.get(JAVA_SHORT, 4 + 2L * (lastAvail & (size - 1))));
            if (head >= size) {
                markBroken("head " + head + " in available slot " + lastAvail + " beyond the ring size " + size);
                break;
            }
            BlkTask t = tasks[head];
            if (t.busy) {
                markBroken("head " + head + " made available again while in flight");
                break;
            }
            lastAvail = (lastAvail + 1) & 0xffff;
            taken++;
            t.busy = true;
            inflight++;
            requests++;
            if (inflightLog != null) {
                inflightLog.fetched(head);
            }
            t.reset(head);
            process(t);
        }
        if (eventIdx) {
            setAvailEvent();
        }
        return taken;
    }

    private void markBroken(String why) {
        if (!broken) {
            broken = true;
            LOG.log(System.Logger.Level.ERROR, "vhost {0}: device broken, the queue stops serving: {1}", name, why);
        }
    }

    /** Resolves, validates and submits one request; anything wrong completes it at once. */
    private void process(BlkTask t) {
        int rc = walkChain(t);
        if (rc != 0) {
            failChain(t, rc);
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
        rc = submit(t);
        if (rc == -Errno.ENOMEM) {
            waitForIo(t);
        } else if (rc < 0) {
            complete(t, Virtio.BLK_S_IOERR);
        }
    }

    /**
     * Follows the chain from the task's head (through an indirect table when there is one) into guest-memory
     * segments: 0, or -EINVAL for any rule broken (index out of the table, loop, address outside guest memory,
     * readable after writable, bad indirect descriptor, too many segments).
     */
    private int walkChain(BlkTask t) {
        MemorySegment table = desc;
        long tableBase = 0;
        int tableSize = size;
        int idx = t.head;
        int walked = 0;
        boolean inIndirect = false, sawWritable = false;
        while (true) {
            if (idx >= tableSize || ++walked > tableSize) {
                return -Errno.EINVAL; // out of the table, or a loop
            }
            long d = tableBase + (long) idx * Virtio.DESC_SIZE;
            long addr = table.get(JAVA_LONG_UNALIGNED, d);
            long len = Integer.toUnsignedLong(table.get(JAVA_INT_UNALIGNED, d + 8));
            int flags = Short.toUnsignedInt(table.get(JAVA_SHORT_UNALIGNED, d + 12));
            int next = Short.toUnsignedInt(table.get(JAVA_SHORT_UNALIGNED, d + 14));
            if ((flags & Virtio.DESC_F_INDIRECT) != 0) {
                if (!indirect || inIndirect || (flags & Virtio.DESC_F_NEXT) != 0 || len == 0
                        || len % Virtio.DESC_SIZE != 0 || len / Virtio.DESC_SIZE > Virtio.MAX_QUEUE_SIZE) {
                    return -Errno.EINVAL;
                }
                int r = mem.regionOfGpa(addr);
                if (r < 0) {
                    return -Errno.EFAULT;
                }
                long off = addr - mem.regionGpa(r);
                if (len > mem.regionSize(r) - off) {
                    return -Errno.EFAULT; // the table must be contiguous in one region
                }
                table = mem.region(r);
                tableBase = off;
                tableSize = (int) (len / Virtio.DESC_SIZE);
                idx = 0;
                walked = 0;
                inIndirect = true;
                continue;
            }
            boolean writable = (flags & Virtio.DESC_F_WRITE) != 0;
            if (!writable && sawWritable) {
                return -Errno.EINVAL;
            }
            sawWritable |= writable;
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
            if ((flags & Virtio.DESC_F_NEXT) == 0) {
                return 0;
            }
            idx = next;
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
    int submit(BlkTask t) {
        return switch (t.type) {
            case Virtio.BLK_T_IN -> bdev.readv(channel, t.iovs, t.iovCount, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_OUT -> bdev.writev(channel, t.iovs, t.iovCount, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_FLUSH -> bdev.flush(channel, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_DISCARD -> bdev.unmap(channel, t.offsetBlocks, t.numBlocks, t, null);
            case Virtio.BLK_T_WRITE_ZEROES -> bdev.writeZeroes(channel, t.offsetBlocks, t.numBlocks, t, null);
            default -> -Errno.EINVAL;
        };
    }

    void waitForIo(BlkTask t) {
        if (bdev.queueIoWait(channel, t) != 0) {
            complete(t, Virtio.BLK_S_IOERR);
        }
    }

    /** Finishes a request with a virtio-blk status: status byte, used entry (published at the next poll). */
    void complete(BlkTask t, int status) {
        t.writeStatus(mem, status);
        t.usedLength = status == Virtio.BLK_S_OK ? t.usedLength + 1 : 1;
        retire(t);
    }

    private void retire(BlkTask t) {
        long e = 4 + 8L * (usedIdx & (size - 1));
        used.set(JAVA_INT, e, t.head);
        used.set(JAVA_INT, e + 4, t.usedLength);
        usedIdx = (usedIdx + 1) & 0xffff;
        pendingUsed++;
        if (inflightLog != null) {
            inflightLog.returned(t.head);
        }
        t.clearIovs();
        t.busy = false;
        inflight--;
    }

    /** Publishes the used index once for everything retired since the last call, and signals the driver if it wants. */
    private int publish() {
        if (pendingUsed == 0) {
            return 0;
        }
        int n = pendingUsed;
        pendingUsed = 0;
        VarHandle.releaseFence(); // used entries before the index
        used.set(JAVA_SHORT, 2, (short) usedIdx);
        if (inflightLog != null) {
            inflightLog.published(usedIdx);
        }
        VarHandle.fullFence(); // the index before reading the driver's suppression state
        boolean signal;
        if (eventIdx) {
            int usedEvent = Short.toUnsignedInt(avail.get(JAVA_SHORT, 4 + 2L * size));
            signal = Virtio.needEvent(usedEvent, usedIdx, signalledUsed);
        } else {
            signal = (avail.get(JAVA_SHORT, 0) & Virtio.AVAIL_F_NO_INTERRUPT) == 0;
        }
        signalledUsed = usedIdx;
        int fd = callFd;
        if (signal && fd >= 0) {
            Posix.writeRaw(fd, one, 8);
        }
        return n;
    }

    @Override
    public String toString() {
        return "vhost " + name;
    }
}
