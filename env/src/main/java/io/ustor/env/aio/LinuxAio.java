package io.ustor.env.aio;

import io.ustor.env.Errno;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.env.Syscall;
import io.ustor.env.uring.CompletionHandler;
import io.ustor.env.uring.FileIoQueue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Linux native AIO (io_setup, io_submit, io_getevents, io_destroy, as raw system calls): the fallback where io_uring
 * is unavailable or disabled.
 *
 * <p>Each of the {@link #depth()} slots owns an iocb and {@link #maxIovs()} iovecs in native memory; preparing fills
 * a free slot and queues its pointer, {@link #submit()} passes the queued pointers to one io_submit. Completions are
 * read straight from the kernel's completion ring mapped in this process (head and tail with acquire/release
 * ordering), without a system call; io_getevents with a zero timeout is used only if the ring's layout is not the
 * one this code knows.
 *
 * <p>AIO has no fallocate and no no-op: {@link #prepFallocate} runs fallocate(2) synchronously when it is prepared and
 * {@link #prepNop} completes at once; both completions are delivered by the next {@link #reap}, like any other.
 * Without O_DIRECT the kernel performs reads and writes inside io_submit (AIO is only asynchronous for direct I/O).
 *
 * <p>Not thread-safe: one owning thread calls everything except {@link #close()}.
 */
public final class LinuxAio implements FileIoQueue {
    private static final System.Logger LOG = System.getLogger(LinuxAio.class.getName());

    /** x86-64 system call numbers. */
    public static final long SYS_IO_SETUP = 206, SYS_IO_DESTROY = 207, SYS_IO_GETEVENTS = 208, SYS_IO_SUBMIT = 209,
            SYS_IO_CANCEL = 210;

    /** iocb opcodes (IOCB_CMD_*). */
    public static final short CMD_PREAD = 0, CMD_PWRITE = 1, CMD_FSYNC = 2, CMD_FDSYNC = 3, CMD_PREADV = 7,
            CMD_PWRITEV = 8;

    // struct iocb (64 bytes, little-endian field order).
    private static final long IOCB_SIZE = 64, IOCB_DATA = 0, IOCB_KEY = 8, IOCB_RW_FLAGS = 12, IOCB_OPCODE = 16,
            IOCB_REQPRIO = 18, IOCB_FILDES = 20, IOCB_BUF = 24, IOCB_NBYTES = 32, IOCB_OFFSET = 40, IOCB_RESERVED2 = 48,
            IOCB_FLAGS = 56, IOCB_RESFD = 60;
    // struct io_event (32 bytes).
    private static final long EVENT_SIZE = 32, EVENT_DATA = 0, EVENT_OBJ = 8, EVENT_RES = 16;
    // struct aio_ring header, followed by the io_events.
    private static final long RING_NR = 4, RING_HEAD = 8, RING_TAIL = 12, RING_MAGIC = 16, RING_INCOMPAT = 24,
            RING_HEADER_LENGTH = 28, RING_EVENTS = 32;
    private static final int AIO_RING_MAGIC = 0xa10a10a1;
    private static final long IOVEC_SIZE = 16;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final int depth;
    private final int maxIovs;
    private final long ctx;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment iocbs, iovecs, pending, events, zeroTimeout;
    private final long iocbBase, iovecBase;
    /** The kernel's completion ring, or null when its layout is unknown (then io_getevents). */
    private final MemorySegment ring;
    private final int ringEntries;
    /** Free slot numbers (a stack). */
    private final int[] freeSlots;
    private int freeCount;
    /** Queued for io_submit: pointers in {@link #pending}. */
    private int pendingCount;
    /** Completions made here (fallocate, nop, io_submit refusals), delivered by reap: slot and result. */
    private final int[] localSlots;
    private final int[] localResults;
    private int localHead, localCount;
    private final long[] userData;
    private int outstanding;
    private volatile boolean closed;

    private LinuxAio(int depth, int maxIovs, long ctx) {
        this.depth = depth;
        this.maxIovs = maxIovs;
        this.ctx = ctx;
        this.iocbs = arena.allocate(IOCB_SIZE * depth, 64);
        this.iocbBase = iocbs.address();
        this.iovecs = arena.allocate(IOVEC_SIZE * maxIovs * depth, 64);
        this.iovecBase = iovecs.address();
        this.pending = arena.allocate(8L * depth, 8);
        this.events = arena.allocate(EVENT_SIZE * depth, 8);
        this.zeroTimeout = arena.allocate(16, 8); // struct timespec {0, 0}
        this.freeSlots = new int[depth];
        for (int i = 0; i < depth; i++) {
            freeSlots[i] = depth - 1 - i;
        }
        this.freeCount = depth;
        this.localSlots = new int[depth];
        this.localResults = new int[depth];
        this.userData = new long[depth];
        MemorySegment header = MemorySegment.ofAddress(ctx).reinterpret(RING_EVENTS);
        if (header.get(JAVA_INT, RING_MAGIC) == AIO_RING_MAGIC && header.get(JAVA_INT, RING_INCOMPAT) == 0
                && header.get(JAVA_INT, RING_HEADER_LENGTH) == RING_EVENTS) {
            this.ringEntries = header.get(JAVA_INT, RING_NR);
            this.ring = MemorySegment.ofAddress(ctx).reinterpret(RING_EVENTS + EVENT_SIZE * ringEntries);
        } else {
            LOG.log(System.Logger.Level.INFO, "aio context 0x{0}: unknown completion ring layout, reaping with io_getevents",
                    Long.toHexString(ctx));
            this.ringEntries = 0;
            this.ring = null;
        }
    }

    /**
     * An AIO context for {@code depth} outstanding operations of up to {@code maxIovs} iovecs each.
     *
     * @throws NativeException from io_setup (EAGAIN: /proc/sys/fs/aio-max-nr reached)
     */
    public static LinuxAio open(int depth, int maxIovs) {
        if (depth < 1 || depth > 65536) {
            throw new IllegalArgumentException("aio depth must be 1..65536: " + depth);
        }
        if (maxIovs < 1 || maxIovs > 1024) {
            throw new IllegalArgumentException("maxIovs must be 1..1024 (IOV_MAX): " + maxIovs);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ctxp = a.allocate(JAVA_LONG);
            ctxp.set(JAVA_LONG, 0, 0L);
            long rc = Syscall.raw(SYS_IO_SETUP, depth, ctxp.address());
            if (rc < 0) {
                throw new NativeException("io_setup(" + depth + ")", (int) -rc, (int) -rc == Errno.EAGAIN
                        ? "the system-wide AIO limit is reached: raise /proc/sys/fs/aio-max-nr" : null);
            }
            long ctx = ctxp.get(JAVA_LONG, 0);
            try {
                return new LinuxAio(depth, maxIovs, ctx);
            } catch (RuntimeException e) {
                Syscall.raw(SYS_IO_DESTROY, ctx);
                throw e;
            }
        }
    }

    @Override
    public String engine() {
        return "linux-aio";
    }

    /** Whether completions are read from the mapped ring (true) or with io_getevents. */
    public boolean userSpaceReaping() {
        return ring != null;
    }

    @Override
    public int depth() {
        return depth;
    }

    @Override
    public int maxIovs() {
        return maxIovs;
    }

    @Override
    public int outstanding() {
        return outstanding;
    }

    @Override
    public int unsubmitted() {
        return pendingCount;
    }

    // ---- preparing operations ------------------------------------------------------------------------------------

    @Override
    public int prepRead(int fd, long addr, int len, long offset, long userData) {
        return prepIocb(CMD_PREAD, fd, addr, len, offset, userData);
    }

    @Override
    public int prepWrite(int fd, long addr, int len, long offset, long userData) {
        return prepIocb(CMD_PWRITE, fd, addr, len, offset, userData);
    }

    @Override
    public int prepReadv(int fd, MemorySegment[] iovs, int iovCount, long offset, long userData) {
        return prepVectored(CMD_PREADV, fd, iovs, iovCount, offset, userData);
    }

    @Override
    public int prepWritev(int fd, MemorySegment[] iovs, int iovCount, long offset, long userData) {
        return prepVectored(CMD_PWRITEV, fd, iovs, iovCount, offset, userData);
    }

    @Override
    public int prepReadv(int fd, long iovecAddress, int iovCount, long offset, long userData) {
        return iovCount < 1 || iovCount > 1024 ? -Errno.EINVAL : prepIocb(CMD_PREADV, fd, iovecAddress, iovCount, offset, userData);
    }

    @Override
    public int prepWritev(int fd, long iovecAddress, int iovCount, long offset, long userData) {
        return iovCount < 1 || iovCount > 1024 ? -Errno.EINVAL : prepIocb(CMD_PWRITEV, fd, iovecAddress, iovCount, offset, userData);
    }

    @Override
    public int prepFsync(int fd, boolean dataSync, long userData) {
        return prepIocb(dataSync ? CMD_FDSYNC : CMD_FSYNC, fd, 0, 0, 0, userData);
    }

    @Override
    public int prepFallocate(int fd, int mode, long offset, long length, long userData) {
        int slot = takeSlot(userData);
        if (slot >= 0) {
            completeLocally(slot, Posix.fallocateRaw(fd, mode, offset, length));
        }
        return slot;
    }

    @Override
    public int prepNop(long userData) {
        int slot = takeSlot(userData);
        if (slot >= 0) {
            completeLocally(slot, 0);
        }
        return slot;
    }

    private int prepVectored(short op, int fd, MemorySegment[] iovs, int iovCount, long offset, long userData) {
        if (iovCount < 1 || iovCount > maxIovs || iovCount > iovs.length) {
            return -Errno.EINVAL;
        }
        for (int i = 0; i < iovCount; i++) {
            if (!iovs[i].isNative()) {
                return -Errno.EINVAL;
            }
        }
        int slot = takeSlot(userData);
        if (slot < 0) {
            return slot;
        }
        long base = (long) slot * maxIovs * IOVEC_SIZE;
        for (int i = 0; i < iovCount; i++) {
            iovecs.set(JAVA_LONG, base + i * IOVEC_SIZE, iovs[i].address());
            iovecs.set(JAVA_LONG, base + i * IOVEC_SIZE + 8, iovs[i].byteSize());
        }
        fillAndQueue(slot, op, fd, iovecBase + base, iovCount, offset, userData);
        return slot;
    }

    private int prepIocb(short op, int fd, long addr, long len, long offset, long userData) {
        int slot = takeSlot(userData);
        if (slot >= 0) {
            fillAndQueue(slot, op, fd, addr, len, offset, userData);
        }
        return slot;
    }

    private int takeSlot(long data) {
        if (freeCount == 0) {
            return -Errno.EAGAIN;
        }
        int slot = freeSlots[--freeCount];
        userData[slot] = data;
        outstanding++;
        return slot;
    }

    private void fillAndQueue(int slot, short op, int fd, long buf, long nbytes, long offset, long data) {
        long b = slot * IOCB_SIZE;
        MemorySegment s = iocbs;
        s.set(JAVA_LONG, b + IOCB_DATA, data);
        s.set(JAVA_INT, b + IOCB_KEY, 0);
        s.set(JAVA_INT, b + IOCB_RW_FLAGS, 0);
        s.set(JAVA_SHORT, b + IOCB_OPCODE, op);
        s.set(JAVA_SHORT, b + IOCB_REQPRIO, (short) 0);
        s.set(JAVA_INT, b + IOCB_FILDES, fd);
        s.set(JAVA_LONG, b + IOCB_BUF, buf);
        s.set(JAVA_LONG, b + IOCB_NBYTES, nbytes);
        s.set(JAVA_LONG, b + IOCB_OFFSET, offset);
        s.set(JAVA_LONG, b + IOCB_RESERVED2, 0L);
        s.set(JAVA_INT, b + IOCB_FLAGS, 0);
        s.set(JAVA_INT, b + IOCB_RESFD, 0);
        pending.set(JAVA_LONG, 8L * pendingCount++, iocbBase + b);
    }

    private void completeLocally(int slot, int result) {
        int i = (localHead + localCount++) % depth;
        localSlots[i] = slot;
        localResults[i] = result;
    }

    // ---- submitting and reaping ----------------------------------------------------------------------------------

    @Override
    public int submit() {
        int submitted = 0;
        while (pendingCount > 0) {
            long rc = Syscall.raw(SYS_IO_SUBMIT, ctx, pendingCount, pending.address());
            if (rc == -Errno.EAGAIN || rc == -Errno.EINTR) {
                break; // kernel short of resources: the rest stay queued for the next call
            }
            int accepted;
            if (rc < 0) {
                // io_submit refuses the first iocb and reports its error only when it accepted none: fail that one.
                long iocb = pending.get(JAVA_LONG, 0);
                completeLocally((int) ((iocb - iocbBase) / IOCB_SIZE), (int) rc);
                accepted = 1;
            } else {
                accepted = (int) rc;
                submitted += accepted;
            }
            pendingCount -= accepted;
            if (pendingCount > 0) {
                MemorySegment.copy(pending, 8L * accepted, pending, 0, 8L * pendingCount);
            }
        }
        return submitted;
    }

    @Override
    public int reap(CompletionHandler handler, int max) {
        submit();
        int n = deliverLocal(handler, max);
        if (n < max) {
            n += ring != null ? reapRing(handler, max - n) : reapGetevents(handler, max - n, 0, zeroTimeout.address());
        }
        return n;
    }

    @Override
    public int reapWait(CompletionHandler handler, int minComplete) {
        int want = Math.min(minComplete, outstanding);
        int done = reap(handler, Integer.MAX_VALUE);
        while (done < want) {
            // Blocks in io_getevents (NULL timeout) for the rest; it consumes from the same ring.
            int rc = reapGetevents(handler, depth, Math.min(want - done, depth), 0);
            if (rc < 0) {
                return rc;
            }
            done += rc + reap(handler, Integer.MAX_VALUE);
        }
        return done;
    }

    private int deliverLocal(CompletionHandler handler, int max) {
        int n = 0;
        while (localCount > 0 && n < max) {
            int slot = localSlots[localHead];
            int res = localResults[localHead];
            localHead = (localHead + 1) % depth;
            localCount--;
            n++;
            finish(handler, slot, res);
        }
        return n;
    }

    private int reapRing(CompletionHandler handler, int max) {
        MemorySegment r = ring;
        int n = 0;
        while (n < max) {
            // Re-read both ends every time: the handler may have reaped (and moved the head) itself.
            int head = (int) INT.getAcquire(r, RING_HEAD);
            int tail = (int) INT.getAcquire(r, RING_TAIL);
            if (head == tail) {
                break;
            }
            long e = RING_EVENTS + EVENT_SIZE * head;
            long obj = r.get(JAVA_LONG, e + EVENT_OBJ);
            int res = (int) r.get(JAVA_LONG, e + EVENT_RES);
            // Give the event back before calling out.
            INT.setRelease(r, RING_HEAD, head + 1 == ringEntries ? 0 : head + 1);
            n++;
            finish(handler, (int) ((obj - iocbBase) / IOCB_SIZE), res);
        }
        return n;
    }

    /** io_getevents(min, max) with a timeout address (0 = block); hands what it got to the handler. */
    private int reapGetevents(CompletionHandler handler, int max, int min, long timeout) {
        int limit = Math.min(max, depth);
        long rc = Syscall.raw(SYS_IO_GETEVENTS, ctx, min, limit, events.address(), timeout);
        if (rc < 0) {
            return rc == -Errno.EINTR ? 0 : (int) rc;
        }
        for (int i = 0; i < rc; i++) {
            long e = EVENT_SIZE * i;
            long obj = events.get(JAVA_LONG, e + EVENT_OBJ);
            int res = (int) events.get(JAVA_LONG, e + EVENT_RES);
            finish(handler, (int) ((obj - iocbBase) / IOCB_SIZE), res);
        }
        return (int) rc;
    }

    private void finish(CompletionHandler handler, int slot, int res) {
        long data = userData[slot];
        freeSlots[freeCount++] = slot;
        outstanding--;
        handler.onCompletion(data, res, 0);
    }

    // ---- teardown ----------------------------------------------------------------------------------------------

    private static final CompletionHandler DISCARD = (userData, result, flags) -> {
    };

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (outstanding > 0) {
                int rc = reapWait(DISCARD, outstanding);
                if (rc < 0) {
                    LOG.log(System.Logger.Level.WARNING, "aio context 0x{0}: waiting for {1} outstanding operations failed: {2}",
                            Long.toHexString(ctx), outstanding, Errno.name(-rc));
                }
            }
        } finally {
            Syscall.raw(SYS_IO_DESTROY, ctx);
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "LinuxAio[ctx 0x" + Long.toHexString(ctx) + ", depth " + depth + ", outstanding " + outstanding + "]";
    }
}
