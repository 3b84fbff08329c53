package io.ustor.bdev;

import io.ustor.bdev.internal.IoStatCounters;
import io.ustor.env.Errno;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * A bdev's per-reactor context (SPDK's bdev channel): the module's channel, a pool of {@link BdevIo}, the io-wait
 * queue, per-channel statistics and the deferred-completion poller. Get one with {@link BdevDesc#getIoChannel()} on a
 * reactor; only that reactor may use it.
 *
 * <p>Completions a module makes inline (inside {@link Bdev#submit}) are deferred to this channel's poller, so a user
 * callback never runs inside the submit call that caused it and a submit-complete-submit loop never deepens the stack.
 */
public final class BdevChannel {
    private static final System.Logger LOG = System.getLogger(BdevChannel.class.getName());

    final Bdev bdev;
    final Reactor reactor;
    final Object moduleChannel;
    final IoStatCounters counters = new IoStatCounters(IoType.VALUES.length);
    private final int blockSize;
    private final MemorySegment zeroBuffer;
    // The bdev's capabilities, fixed while it is registered: read once, not per I/O.
    private final boolean[] supported = new boolean[IoType.VALUES.length];
    private final int maxTransfer;
    private final int boundary;
    private final int alignment;

    private BdevIo[] free;
    private int freeCount;
    private int poolSize;
    private long poolGrowths;

    private final ArrayDeque<BdevIoWaitEntry> ioWait = new ArrayDeque<>(64);
    private boolean processingWait;
    /** >0 while inside a module's submit on this channel: completions then are deferred. */
    private int submitDepth;
    private BdevIo deferredHead, deferredTail;
    private BdevIo nomemHead, nomemTail;
    private BdevIo frozenHead, frozenTail;
    private boolean frozen;
    private BdevReset resetWaiter;
    /** User requests accepted and not yet finished (a split request counts once; resets do not count). */
    private int inFlight;
    private final PollerHandle poller;

    BdevChannel(Bdev bdev, Reactor reactor, Object moduleChannel, int poolSize, MemorySegment zeroBuffer) {
        this.bdev = bdev;
        this.reactor = reactor;
        this.moduleChannel = moduleChannel;
        this.blockSize = bdev.blockSize();
        this.zeroBuffer = zeroBuffer;
        for (IoType t : IoType.VALUES) {
            supported[t.ordinal()] = bdev.supportsIoType(t);
        }
        this.maxTransfer = bdev.maxTransferBlocks();
        this.boundary = bdev.optimalIoBoundaryBlocks();
        this.alignment = bdev.requiredAlignment();
        this.free = new BdevIo[poolSize];
        for (int i = 0; i < poolSize; i++) {
            BdevIo io = new BdevIo(this);
            io.inPool = true;
            free[i] = io;
        }
        this.freeCount = poolSize;
        this.poolSize = poolSize;
        Poller p = this::poll;
        // Deferred completions and retries come only from this reactor's own submissions.
        this.poller = reactor.addLocalPoller("bdev " + bdev.name() + " completions", p);
    }

    public Bdev bdev() {
        return bdev;
    }

    public Reactor reactor() {
        return reactor;
    }

    /** The module's per-reactor state (what {@link Bdev#createChannel} returned). */
    public Object moduleChannel() {
        return moduleChannel;
    }

    /** Ios in the pool (grows past the configured size only to keep a split request from deadlocking). */
    public int ioPoolSize() {
        return poolSize;
    }

    /** Free ios now; owner reactor. */
    public int freeIos() {
        return freeCount;
    }

    /** Requests submitted and not yet completed; owner reactor. */
    public int outstanding() {
        return inFlight;
    }

    /** How often the pool grew to let a split request make progress. */
    public long poolGrowths() {
        return poolGrowths;
    }

    /** This channel's statistics; any thread. */
    public IoStats stats() {
        long[] acc = IoStatCounters.newAccumulator(IoType.VALUES.length);
        counters.addTo(acc);
        return new IoStats(acc);
    }

    @Override
    public String toString() {
        return "bdev " + bdev.name() + " channel on " + reactor.name();
    }

    // ---- submission ----

    /** Validates and submits a data request (READ, WRITE, COMPARE): one buffer, or iovs[0..iovCount). */
    int submitData(IoType type, MemorySegment buf, MemorySegment[] iovs, int iovCount, long offsetBlocks,
                   long numBlocks, BdevIoCallback cb, Object cbArg) {
        return submitData(type, buf, iovs, null, null, iovCount, offsetBlocks, numBlocks, cb, cbArg);
    }

    /**
     * Validates and submits a data request from {@code buf}, or from pieces {@code iovs[i]} starting at
     * {@code iovOffsets[i]} for {@code iovLengths[i]} bytes (whole segments when the two arrays are null).
     */
    int submitData(IoType type, MemorySegment buf, MemorySegment[] iovs, long[] iovOffsets, long[] iovLengths,
                   int iovCount, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (cb == null || numBlocks <= 0 || !inRange(offsetBlocks, numBlocks)) {
            return -Errno.EINVAL;
        }
        if (!supported[type.ordinal()]) {
            return -Errno.EOPNOTSUPP;
        }
        long bytes = numBlocks * blockSize;
        int align = alignment;
        if (buf != null) {
            if (buf.byteSize() < bytes || (align > 1 && (buf.address() & (align - 1)) != 0)) {
                return -Errno.EINVAL;
            }
        } else if (iovs == null || iovCount <= 0 || iovCount > iovs.length
                || (iovOffsets == null ? !iovsCover(iovs, iovCount, bytes, align)
                : !piecesCover(iovs, iovOffsets, iovLengths, iovCount, bytes, align))) {
            return -Errno.EINVAL;
        }
        BdevIo io = take();
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.init(type, offsetBlocks, numBlocks, cb, cbArg);
        if (buf != null) {
            io.addIov(buf, 0, bytes);
        } else {
            long left = bytes;
            for (int i = 0; left > 0; i++) {
                long n = Math.min(iovOffsets == null ? iovs[i].byteSize() : iovLengths[i], left);
                if (n > 0) {
                    io.addIov(iovs[i], iovOffsets == null ? 0 : iovOffsets[i], n);
                    left -= n;
                }
            }
        }
        io.startNanos = reactor.now();
        start(io);
        return 0;
    }

    /** Validates and submits a request without data (FLUSH, UNMAP, WRITE_ZEROES). */
    int submitNoData(IoType type, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (cb == null || numBlocks < 0 || (numBlocks == 0 && type != IoType.FLUSH) || !inRange(offsetBlocks, numBlocks)) {
            return -Errno.EINVAL;
        }
        boolean emulate = false, noop = false;
        if (!supported[type.ordinal()]) {
            if (type == IoType.FLUSH) {
                noop = true; // no write cache to flush: succeeds at once, as on Linux
            } else if (type != IoType.WRITE_ZEROES || !supported[IoType.WRITE.ordinal()]) {
                return -Errno.EOPNOTSUPP;
            } else {
                emulate = true;
            }
        }
        BdevIo io = take();
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.init(type, offsetBlocks, numBlocks, cb, cbArg);
        io.zeroEmulation = emulate;
        io.noop = noop;
        io.startNanos = reactor.now();
        start(io);
        return 0;
    }

    /** Takes an io for a reset and starts it (drain all channels, then the module's reset). */
    int submitReset(BdevIoCallback cb, Object cbArg) {
        if (cb == null) {
            return -Errno.EINVAL;
        }
        BdevIo io = take();
        if (io == null) {
            return -Errno.ENOMEM;
        }
        io.init(IoType.RESET, 0, 0, cb, cbArg);
        io.startNanos = reactor.now();
        bdev.startReset(new BdevReset(bdev, this, io));
        return 0;
    }

    int queueIoWait(BdevIoWaitEntry entry) {
        if (entry == null) {
            return -Errno.EINVAL;
        }
        ioWait.addLast(entry);
        return 0;
    }

    private boolean inRange(long offsetBlocks, long numBlocks) {
        long end = offsetBlocks + numBlocks;
        return offsetBlocks >= 0 && end >= offsetBlocks && end <= bdev.numBlocks();
    }

    private static boolean piecesCover(MemorySegment[] iovs, long[] offsets, long[] lengths, int iovCount, long bytes,
                                       int align) {
        if (lengths == null || offsets.length < iovCount || lengths.length < iovCount) {
            return false;
        }
        long total = 0;
        for (int i = 0; i < iovCount && total < bytes; i++) {
            MemorySegment s = iovs[i];
            long off = offsets[i];
            long len = lengths[i];
            if (s == null || off < 0 || len < 0 || off > s.byteSize() || len > s.byteSize() - off) {
                return false;
            }
            long n = Math.min(len, bytes - total);
            if (align > 1 && n > 0 && (((s.address() + off) & (align - 1)) != 0 || (n & (align - 1)) != 0)) {
                return false;
            }
            total += n;
        }
        return total >= bytes;
    }

    private static boolean iovsCover(MemorySegment[] iovs, int iovCount, long bytes, int align) {
        long total = 0;
        for (int i = 0; i < iovCount && total < bytes; i++) {
            MemorySegment s = iovs[i];
            if (s == null) {
                return false;
            }
            long n = Math.min(s.byteSize(), bytes - total);
            if (align > 1 && n > 0 && ((s.address() & (align - 1)) != 0 || (n & (align - 1)) != 0)) {
                return false;
            }
            total += n;
        }
        return total >= bytes;
    }

    /**
     * Starts a validated request (latency counts from here, including any hold during a reset; the stamp is the
     * reactor's loop clock, see {@link IoStats}).
     */
    private void start(BdevIo io) {
        if (frozen) {
            io.next = null;
            if (frozenTail == null) {
                frozenHead = io;
            } else {
                frozenTail.next = io;
            }
            frozenTail = io;
            return;
        }
        inFlight++;
        if (io.noop) {
            submitDepth++;
            moduleComplete(io, BdevIoStatus.SUCCESS, 0); // deferred to the poller like any inline completion
            submitDepth--;
        } else if (needsSplit(io)) {
            initSplit(io);
            submitDepth++;
            try {
                continueSplit(io);
            } finally {
                submitDepth--;
            }
        } else {
            dispatch(io);
        }
    }

    private boolean needsSplit(BdevIo io) {
        if (io.zeroEmulation) {
            return true;
        }
        IoType t = io.type;
        if (t != IoType.READ && t != IoType.WRITE && t != IoType.COMPARE) {
            return false;
        }
        int max = maxTransfer;
        if (max > 0 && io.numBlocks > max) {
            return true;
        }
        int b = boundary;
        return b > 0 && (io.offsetBlocks % b) + io.numBlocks > b;
    }

    /** Hands an io to the module; completions it makes inline are deferred. */
    private void dispatch(BdevIo io) {
        submitDepth++;
        try {
            bdev.submit(moduleChannel, io);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "bdev " + bdev.name() + ": module submit of " + io + " failed", e);
            if (io.status == BdevIoStatus.PENDING) {
                moduleComplete(io, BdevIoStatus.FAILED, Errno.EIO);
            }
        } finally {
            submitDepth--;
        }
    }

    // ---- splitting ----

    private void initSplit(BdevIo p) {
        p.splitNextBlock = p.offsetBlocks;
        p.splitRemaining = p.numBlocks;
        p.splitIov = 0;
        p.splitIovOffset = 0;
        p.outstandingChildren = 0;
        p.splitWaiting = false;
    }

    /** Submits children until the parent is covered or the pool runs dry (then waits for a free io). */
    private void continueSplit(BdevIo p) {
        while (p.splitRemaining > 0) {
            BdevIo c = take();
            if (c == null) {
                if (p.outstandingChildren > 0) {
                    if (!p.splitWaiting) {
                        p.splitWaiting = true;
                        ioWait.addLast(p.splitRetry);
                    }
                    return;
                }
                // Nothing of ours in flight that would free an io: grow rather than deadlock.
                c = grow();
            }
            long n = childBlocks(p);
            c.init(p.zeroEmulation ? IoType.WRITE : p.type, p.splitNextBlock, n, null, null);
            c.parent = p;
            c.startNanos = p.startNanos;
            long bytes = n * blockSize;
            if (p.zeroEmulation) {
                c.addIov(zeroBuffer, 0, bytes);
            } else {
                carve(p, c, bytes);
            }
            p.splitNextBlock += n;
            p.splitRemaining -= n;
            p.outstandingChildren++;
            dispatch(c);
        }
    }

    private long childBlocks(BdevIo p) {
        long n = p.splitRemaining;
        int max = maxTransfer;
        if (max > 0 && n > max) {
            n = max;
        }
        if (boundary > 0) {
            long toBoundary = boundary - (p.splitNextBlock % boundary);
            if (n > toBoundary) {
                n = toBoundary;
            }
        }
        if (p.zeroEmulation) {
            long zb = zeroBuffer.byteSize() / blockSize;
            if (n > zb) {
                n = zb;
            }
        }
        return n;
    }

    /** Gives the child the next {@code bytes} of the parent's pieces, by offset and length (no slicing). */
    private static void carve(BdevIo p, BdevIo c, long bytes) {
        while (bytes > 0) {
            int i = p.splitIov;
            long avail = p.iovLengths[i] - p.splitIovOffset;
            long n = Math.min(avail, bytes);
            c.addIov(p.iovs[i], p.iovOffsets[i] + p.splitIovOffset, n);
            bytes -= n;
            if (n == avail) {
                p.splitIov = i + 1;
                p.splitIovOffset = 0;
            } else {
                p.splitIovOffset += n;
            }
        }
    }

    void retrySplit(BdevIo p) {
        p.splitWaiting = false;
        if (p.splitRemaining > 0) {
            submitDepth++;
            try {
                continueSplit(p);
            } finally {
                submitDepth--;
            }
        }
    }

    private void childDone(BdevIo c) {
        BdevIo p = c.parent;
        if (c.status != BdevIoStatus.SUCCESS && p.status == BdevIoStatus.PENDING) {
            p.status = c.status;
            p.errno = c.errno;
            p.splitRemaining = 0; // submit no more children
        }
        p.outstandingChildren--;
        release(c);
        if (p.outstandingChildren == 0) {
            if (p.splitRemaining == 0) {
                if (p.splitWaiting) {
                    ioWait.remove(p.splitRetry);
                    p.splitWaiting = false;
                }
                if (p.status == BdevIoStatus.PENDING) {
                    p.status = BdevIoStatus.SUCCESS;
                }
                finish(p);
            } else {
                // Our last child is back and we still wait for ios: go on now (growing if the pool stays dry).
                if (p.splitWaiting) {
                    ioWait.remove(p.splitRetry);
                }
                retrySplit(p);
            }
        }
    }

    // ---- completion ----

    void moduleComplete(BdevIo io, BdevIoStatus status, int errno) {
        if (status == BdevIoStatus.NOMEM) {
            io.next = null;
            if (nomemTail == null) {
                nomemHead = io;
            } else {
                nomemTail.next = io;
            }
            nomemTail = io;
            return;
        }
        if (io.status != BdevIoStatus.PENDING) {
            throw new IllegalStateException("bdev " + bdev.name() + ": " + io + " completed twice");
        }
        io.status = status;
        io.errno = errno;
        if (submitDepth > 0) {
            io.next = null;
            if (deferredTail == null) {
                deferredHead = io;
            } else {
                deferredTail.next = io;
            }
            deferredTail = io;
            return;
        }
        completed(io);
    }

    private void completed(BdevIo io) {
        if (io.parent != null) {
            childDone(io);
        } else if (io.type == IoType.RESET && io.resetRef != null) {
            io.resetRef.moduleDone();
        } else {
            finish(io);
        }
    }

    /** Counts, calls the user back, frees. */
    void finish(BdevIo io) {
        int t = io.type.ordinal();
        if (io.status == BdevIoStatus.SUCCESS) {
            counters.recordSuccess(t, io.numBlocks * blockSize, reactor.now() - io.startNanos);
        } else {
            counters.recordError(t);
        }
        boolean counted = io.type != IoType.RESET;
        if (counted) {
            inFlight--;
        }
        try {
            io.cb.onComplete(io, io.status == BdevIoStatus.SUCCESS, io.cbArg);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "bdev " + bdev.name() + ": completion callback of " + io + " threw", e);
        }
        release(io);
        if (counted && inFlight == 0 && resetWaiter != null) {
            BdevReset r = resetWaiter;
            resetWaiter = null;
            r.channelDrained();
        }
    }

    // ---- pool ----

    private BdevIo take() {
        if (freeCount == 0) {
            return null;
        }
        BdevIo io = free[--freeCount];
        free[freeCount] = null;
        io.inPool = false;
        return io;
    }

    private BdevIo grow() {
        if (poolGrowths == 0) {
            LOG.log(System.Logger.Level.WARNING, "bdev {0}: io pool of {1} on {2} ran dry under split requests; growing it",
                    bdev.name(), Integer.toString(poolSize), reactor.name());
        }
        poolGrowths++;
        poolSize++;
        if (free.length < poolSize) {
            free = Arrays.copyOf(free, poolSize);
        }
        return new BdevIo(this);
    }

    private void release(BdevIo io) {
        if (io.inPool) {
            throw new IllegalStateException("bdev " + bdev.name() + ": " + io + " freed twice");
        }
        io.clear();
        io.resetRef = null;
        io.inPool = true;
        free[freeCount++] = io;
        if (!ioWait.isEmpty() && !processingWait) {
            runIoWaiters();
        }
    }

    /** Gives free ios to waiters, oldest first; one pass over those waiting now. */
    private void runIoWaiters() {
        processingWait = true;
        try {
            int n = ioWait.size();
            while (n-- > 0 && freeCount > 0) {
                BdevIoWaitEntry e = ioWait.pollFirst();
                if (e == null) {
                    break;
                }
                try {
                    e.onRetry();
                } catch (RuntimeException ex) {
                    LOG.log(System.Logger.Level.ERROR, "bdev " + bdev.name() + ": io wait entry threw", ex);
                }
            }
        } finally {
            processingWait = false;
        }
    }

    // ---- poller: deferred completions, NOMEM resubmission ----

    private int poll() {
        int work = 0;
        if (nomemHead != null) {
            BdevIo io = nomemHead;
            nomemHead = nomemTail = null;
            while (io != null) {
                BdevIo next = io.next;
                io.next = null;
                dispatch(io);
                io = next;
                work++;
            }
        }
        if (deferredHead != null) {
            BdevIo io = deferredHead;
            deferredHead = deferredTail = null;
            while (io != null) {
                BdevIo next = io.next;
                io.next = null;
                completed(io);
                io = next;
                work++;
            }
        }
        if (work == 0 && !ioWait.isEmpty() && freeCount > 0 && !processingWait) {
            runIoWaiters(); // waiters queued while ios were free
            work = 1;
        }
        return work;
    }

    // ---- reset ----

    /** On this reactor: hold new requests; tell {@code reset} once nothing is in flight. */
    void freeze(BdevReset reset) {
        frozen = true;
        bdev.resetStarting(moduleChannel);
        if (inFlight > 0) {
            resetWaiter = reset;
            reset.expectDrain();
        }
    }

    /** On this reactor: submit what was held during the reset. */
    void unfreeze() {
        frozen = false;
        BdevIo io = frozenHead;
        frozenHead = frozenTail = null;
        submitDepth++;
        try {
            while (io != null) {
                BdevIo next = io.next;
                io.next = null;
                start(io);
                io = next;
            }
        } finally {
            submitDepth--;
        }
    }

    /** The module's part of a reset, on the reset's channel. */
    void dispatchReset(BdevIo io) {
        dispatch(io);
    }

    // ---- teardown ----

    void destroy() {
        if (poller != null) {
            poller.unregister();
        }
        if (inFlight > 0 || freeCount != poolSize) {
            LOG.log(System.Logger.Level.WARNING, "bdev {0}: channel on {1} destroyed with {2} requests in flight",
                    bdev.name(), reactor.name(), Integer.toString(inFlight));
        }
    }
}
