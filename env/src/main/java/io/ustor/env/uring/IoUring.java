package io.ustor.env.uring;

import io.ustor.env.Errno;
import io.ustor.env.Mman;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.env.Syscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * An io_uring instance driven by raw system calls (io_uring_setup, io_uring_enter, io_uring_register; no liburing).
 *
 * <p>The submission and completion rings and the SQE array are mapped into this process. Preparing an operation
 * writes an SQE in place; {@link #submit()} publishes the SQ tail (release) and makes one io_uring_enter for the
 * whole batch; {@link #reap} reads the CQ tail (acquire), hands each CQE to a handler and publishes the CQ head
 * (release). With {@code DEFER_TASKRUN} or {@code COOP_TASKRUN} the kernel posts completions only when this thread
 * enters it, and says so with {@link #SQ_TASKRUN} in the SQ flags: {@link #reap} then makes the entering call, and
 * otherwise none at all.
 *
 * <p>Each SQE slot owns {@link #maxIovs()} iovecs in native memory, so vectored operations allocate nothing; the
 * kernel copies them on submission ({@link #FEAT_SUBMIT_STABLE}), and a slot is reused only after the kernel has
 * consumed its SQE. Outstanding operations are capped at the CQ size, so the CQ never overflows.
 *
 * <p>Not thread-safe: one owning thread (with {@link #SETUP_SINGLE_ISSUER}, the thread that created it) calls
 * everything except {@link #close()}.
 */
public final class IoUring implements FileIoQueue {
    private static final System.Logger LOG = System.getLogger(IoUring.class.getName());

    /** io_uring_setup flags. */
    public static final int SETUP_IOPOLL = 1, SETUP_SQPOLL = 1 << 1, SETUP_SQ_AFF = 1 << 2, SETUP_CQSIZE = 1 << 3,
            SETUP_CLAMP = 1 << 4, SETUP_ATTACH_WQ = 1 << 5, SETUP_R_DISABLED = 1 << 6, SETUP_SUBMIT_ALL = 1 << 7,
            SETUP_COOP_TASKRUN = 1 << 8, SETUP_TASKRUN_FLAG = 1 << 9, SETUP_SINGLE_ISSUER = 1 << 12,
            SETUP_DEFER_TASKRUN = 1 << 13;

    /** Features the kernel reports in io_uring_params.features. */
    public static final int FEAT_SINGLE_MMAP = 1, FEAT_NODROP = 1 << 1, FEAT_SUBMIT_STABLE = 1 << 2,
            FEAT_RW_CUR_POS = 1 << 3, FEAT_EXT_ARG = 1 << 8, FEAT_NATIVE_WORKERS = 1 << 9;

    /** Opcodes (enum io_uring_op). */
    public static final byte OP_NOP = 0, OP_READV = 1, OP_WRITEV = 2, OP_FSYNC = 3, OP_READ_FIXED = 4,
            OP_WRITE_FIXED = 5, OP_FALLOCATE = 17, OP_READ = 22, OP_WRITE = 23;

    /** SQE flags, for {@link #setSqeFlags}. */
    public static final int SQE_FIXED_FILE = 1, SQE_IO_DRAIN = 1 << 1, SQE_IO_LINK = 1 << 2,
            SQE_IO_HARDLINK = 1 << 3, SQE_ASYNC = 1 << 4;

    /** fsync_flags: sync data only (fdatasync). */
    public static final int FSYNC_DATASYNC = 1;

    /** SQ ring flags the kernel sets. */
    public static final int SQ_NEED_WAKEUP = 1, SQ_CQ_OVERFLOW = 1 << 1, SQ_TASKRUN = 1 << 2;

    /** io_uring_enter flags. */
    public static final int ENTER_GETEVENTS = 1;

    /** io_uring_register opcodes. */
    public static final int REGISTER_BUFFERS = 0, UNREGISTER_BUFFERS = 1, REGISTER_FILES = 2, UNREGISTER_FILES = 3;

    /** Flag sets {@link #open(int, int)} tries in order, best first. */
    private static final int[] PREFERRED_FLAGS = {
            SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN | SETUP_TASKRUN_FLAG,
            SETUP_SINGLE_ISSUER | SETUP_COOP_TASKRUN | SETUP_TASKRUN_FLAG,
            SETUP_COOP_TASKRUN | SETUP_TASKRUN_FLAG,
            0};

    // struct io_uring_params (120 bytes) and its io_sqring_offsets / io_cqring_offsets.
    private static final long PARAMS_SIZE = 120, P_SQ_ENTRIES = 0, P_CQ_ENTRIES = 4, P_FLAGS = 8, P_FEATURES = 20,
            P_SQ_OFF = 40, P_CQ_OFF = 80;
    private static final long SQO_HEAD = 0, SQO_TAIL = 4, SQO_RING_MASK = 8, SQO_FLAGS = 16, SQO_DROPPED = 20,
            SQO_ARRAY = 24;
    private static final long CQO_HEAD = 0, CQO_TAIL = 4, CQO_RING_MASK = 8, CQO_OVERFLOW = 16, CQO_CQES = 20;
    private static final long OFF_SQ_RING = 0, OFF_CQ_RING = 0x8000000L, OFF_SQES = 0x10000000L;

    // struct io_uring_sqe (64 bytes) and io_uring_cqe (16 bytes).
    private static final long SQE_SIZE = 64, SQE_OPCODE = 0, SQE_FLAGS = 1, SQE_IOPRIO = 2, SQE_FD = 4, SQE_OFF = 8,
            SQE_ADDR = 16, SQE_LEN = 24, SQE_OP_FLAGS = 28, SQE_USER_DATA = 32, SQE_BUF_INDEX = 40,
            SQE_PERSONALITY = 42, SQE_FILE_INDEX = 44, SQE_ADDR3 = 48, SQE_PAD = 56;
    private static final long CQE_SIZE = 16, CQE_USER_DATA = 0, CQE_RES = 8, CQE_FLAGS = 12;
    private static final long IOVEC_SIZE = 16;

    /** Ring indices are shared with the kernel: acquire to read what it published, release to publish ours. */
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final int ringFd;
    private final int setupFlags;
    private final int features;
    private final int sqEntries, cqEntries, sqMask, cqMask;
    private final int maxIovs;
    private final MemorySegment sqRing, cqRing, sqes;
    private final long sqHeadOff, sqTailOff, sqFlagsOff, sqDroppedOff, cqHeadOff, cqTailOff, cqesOff, cqOverflowOff;
    private final boolean taskrunFlag;
    private final Arena arena = Arena.ofShared();
    /** Per SQE slot: maxIovs iovecs. */
    private final MemorySegment iovecs;
    private final long iovecBase;

    /** Next SQE slot to fill (free-running, masked on use). */
    private int sqeTail;
    /** Our copy of the CQ head (only we write it). */
    private int cqHead;
    /** Prepared and not reaped. */
    private int outstanding;
    private volatile boolean closed;

    private IoUring(int ringFd, MemorySegment params, int maxIovs) {
        this.ringFd = ringFd;
        this.maxIovs = maxIovs;
        this.sqEntries = params.get(JAVA_INT, P_SQ_ENTRIES);
        this.cqEntries = params.get(JAVA_INT, P_CQ_ENTRIES);
        this.setupFlags = params.get(JAVA_INT, P_FLAGS);
        this.features = params.get(JAVA_INT, P_FEATURES);
        this.taskrunFlag = (setupFlags & SETUP_TASKRUN_FLAG) != 0;
        int sqArrayOff = params.get(JAVA_INT, P_SQ_OFF + SQO_ARRAY);
        int cqesOff = params.get(JAVA_INT, P_CQ_OFF + CQO_CQES);
        long sqSize = sqArrayOff + (long) sqEntries * 4;
        long cqSize = cqesOff + (long) cqEntries * CQE_SIZE;
        int prot = Mman.PROT_READ | Mman.PROT_WRITE;
        int flags = Mman.MAP_SHARED | Mman.MAP_POPULATE;
        MemorySegment sq, cq, sqeArray = null;
        try {
            if ((features & FEAT_SINGLE_MMAP) != 0) {
                sq = Mman.mmap(MemorySegment.NULL, Math.max(sqSize, cqSize), prot, flags, ringFd, OFF_SQ_RING, arena);
                cq = sq;
            } else {
                sq = Mman.mmap(MemorySegment.NULL, sqSize, prot, flags, ringFd, OFF_SQ_RING, arena);
                cq = Mman.mmap(MemorySegment.NULL, cqSize, prot, flags, ringFd, OFF_CQ_RING, arena);
            }
            sqeArray = Mman.mmap(MemorySegment.NULL, sqEntries * SQE_SIZE, prot, flags, ringFd, OFF_SQES, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.sqRing = sq;
        this.cqRing = cq;
        this.sqes = sqeArray;
        this.sqHeadOff = params.get(JAVA_INT, P_SQ_OFF + SQO_HEAD);
        this.sqTailOff = params.get(JAVA_INT, P_SQ_OFF + SQO_TAIL);
        this.sqFlagsOff = params.get(JAVA_INT, P_SQ_OFF + SQO_FLAGS);
        this.sqDroppedOff = params.get(JAVA_INT, P_SQ_OFF + SQO_DROPPED);
        this.cqOverflowOff = params.get(JAVA_INT, P_CQ_OFF + CQO_OVERFLOW);
        this.sqMask = sq.get(JAVA_INT, params.get(JAVA_INT, P_SQ_OFF + SQO_RING_MASK));
        this.cqHeadOff = params.get(JAVA_INT, P_CQ_OFF + CQO_HEAD);
        this.cqTailOff = params.get(JAVA_INT, P_CQ_OFF + CQO_TAIL);
        this.cqMask = cq.get(JAVA_INT, params.get(JAVA_INT, P_CQ_OFF + CQO_RING_MASK));
        this.cqesOff = cqesOff;
        // SQ array entry i names SQE i for good: the slot of an SQE is its ring position.
        for (int i = 0; i < sqEntries; i++) {
            sq.set(JAVA_INT, sqArrayOff + 4L * i, i);
        }
        this.sqeTail = (int) INT.getAcquire(sq, sqTailOff);
        this.cqHead = (int) INT.getAcquire(cq, cqHeadOff);
        this.iovecs = arena.allocate((long) sqEntries * maxIovs * IOVEC_SIZE, 64);
        this.iovecBase = iovecs.address();
    }

    /**
     * A ring of at least {@code entries} SQEs (rounded up to a power of two by the kernel) and twice as many CQEs,
     * with the best task-run mode the kernel accepts: {@code SINGLE_ISSUER|DEFER_TASKRUN}, then
     * {@code COOP_TASKRUN}, then none. Call it on the thread that will use the ring.
     *
     * @throws NativeException from io_uring_setup; {@code ENOSYS} (no io_uring) or {@code EPERM}
     *                         (kernel.io_uring_disabled) mean the caller should fall back to Linux AIO
     */
    public static IoUring open(int entries, int maxIovs) {
        NativeException last = null;
        for (int flags : PREFERRED_FLAGS) {
            try {
                return open(entries, flags, maxIovs);
            } catch (NativeException e) {
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    /** A ring with exactly these {@code SETUP_*} flags (plus {@code CQSIZE} for a CQ twice the SQ). */
    public static IoUring open(int entries, int flags, int maxIovs) {
        if (entries < 1 || entries > 32768) {
            throw new IllegalArgumentException("io_uring entries must be 1..32768: " + entries);
        }
        if (maxIovs < 1 || maxIovs > 1024) {
            throw new IllegalArgumentException("maxIovs must be 1..1024 (IOV_MAX): " + maxIovs);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(PARAMS_SIZE, 8);
            params.set(JAVA_INT, P_FLAGS, flags | SETUP_CQSIZE);
            params.set(JAVA_INT, P_CQ_ENTRIES, 2 * Integer.highestOneBit(entries * 2 - 1));
            long fd = Syscall.raw(Syscall.SYS_IO_URING_SETUP, entries, params.address());
            if (fd < 0) {
                throw new NativeException("io_uring_setup(" + entries + " entries, flags " + describeSetupFlags(flags) + ")",
                        (int) -fd, hint((int) -fd));
            }
            try {
                IoUring ring = new IoUring((int) fd, params, maxIovs);
                LOG.log(System.Logger.Level.DEBUG, "io_uring fd {0}: {1} SQEs, {2} CQEs, flags {3}, features 0x{4}",
                        fd, ring.sqEntries, ring.cqEntries, describeSetupFlags(ring.setupFlags), Integer.toHexString(ring.features));
                return ring;
            } catch (RuntimeException e) {
                Posix.closeRaw((int) fd);
                throw e;
            }
        }
    }

    private static String hint(int errno) {
        if (errno == Errno.EPERM) {
            return "io_uring is disabled for this process (see /proc/sys/kernel/io_uring_disabled); use Linux AIO";
        }
        if (errno == Errno.ENOSYS) {
            return "the kernel has no io_uring; use Linux AIO";
        }
        return null;
    }

    /** Setup flags as text, e.g. "SINGLE_ISSUER|DEFER_TASKRUN". */
    public static String describeSetupFlags(int flags) {
        String[] names = {"IOPOLL", "SQPOLL", "SQ_AFF", "CQSIZE", "CLAMP", "ATTACH_WQ", "R_DISABLED", "SUBMIT_ALL",
                "COOP_TASKRUN", "TASKRUN_FLAG", "SQE128", "CQE32", "SINGLE_ISSUER", "DEFER_TASKRUN"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if ((flags & (1 << i)) != 0) {
                sb.append(sb.isEmpty() ? "" : "|").append(names[i]);
            }
        }
        int rest = flags & ~((1 << names.length) - 1);
        if (rest != 0) {
            sb.append(sb.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(rest));
        }
        return sb.isEmpty() ? "0" : sb.toString();
    }

    @Override
    public String engine() {
        return "io_uring";
    }

    /** The ring's file descriptor. */
    public int fd() {
        return ringFd;
    }

    /** The setup flags the kernel accepted. */
    public int setupFlags() {
        return setupFlags;
    }

    /** The kernel's {@code FEAT_*} bits. */
    public int features() {
        return features;
    }

    /** SQ size (a power of two). */
    public int sqEntries() {
        return sqEntries;
    }

    /** CQ size. */
    public int cqEntries() {
        return cqEntries;
    }

    @Override
    public int depth() {
        return sqEntries;
    }

    /** SQEs the kernel dropped as invalid (its sq.dropped counter); should stay 0. */
    public int sqDropped() {
        return (int) INT.getAcquire(sqRing, sqDroppedOff);
    }

    /** Completions the kernel could not post to a full CQ (its cq.overflow counter); stays 0 by construction. */
    public int cqOverflow() {
        return (int) INT.getAcquire(cqRing, cqOverflowOff);
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
        return sqeTail - (int) INT.getAcquire(sqRing, sqHeadOff);
    }

    // ---- preparing operations ------------------------------------------------------------------------------------

    @Override
    public int prepRead(int fd, long addr, int len, long offset, long userData) {
        return prepRw(OP_READ, fd, addr, len, offset, userData);
    }

    @Override
    public int prepWrite(int fd, long addr, int len, long offset, long userData) {
        return prepRw(OP_WRITE, fd, addr, len, offset, userData);
    }

    @Override
    public int prepReadv(int fd, MemorySegment[] iovs, int iovCount, long offset, long userData) {
        return prepVectored(OP_READV, fd, iovs, iovCount, offset, userData);
    }

    @Override
    public int prepWritev(int fd, MemorySegment[] iovs, int iovCount, long offset, long userData) {
        return prepVectored(OP_WRITEV, fd, iovs, iovCount, offset, userData);
    }

    @Override
    public int prepReadv(int fd, long iovecAddress, int iovCount, long offset, long userData) {
        return iovCount < 1 || iovCount > 1024 ? -Errno.EINVAL : prepRw(OP_READV, fd, iovecAddress, iovCount, offset, userData);
    }

    @Override
    public int prepWritev(int fd, long iovecAddress, int iovCount, long offset, long userData) {
        return iovCount < 1 || iovCount > 1024 ? -Errno.EINVAL : prepRw(OP_WRITEV, fd, iovecAddress, iovCount, offset, userData);
    }

    /** READ_FIXED: into registered buffer {@code bufIndex}; [addr, addr+len) must lie inside it. */
    public int prepReadFixed(int fd, long addr, int len, long offset, int bufIndex, long userData) {
        int slot = prepRw(OP_READ_FIXED, fd, addr, len, offset, userData);
        if (slot >= 0) {
            sqes.set(JAVA_SHORT, slot * SQE_SIZE + SQE_BUF_INDEX, (short) bufIndex);
        }
        return slot;
    }

    /** WRITE_FIXED: from registered buffer {@code bufIndex}. */
    public int prepWriteFixed(int fd, long addr, int len, long offset, int bufIndex, long userData) {
        int slot = prepRw(OP_WRITE_FIXED, fd, addr, len, offset, userData);
        if (slot >= 0) {
            sqes.set(JAVA_SHORT, slot * SQE_SIZE + SQE_BUF_INDEX, (short) bufIndex);
        }
        return slot;
    }

    @Override
    public int prepFsync(int fd, boolean dataSync, long userData) {
        int slot = nextSqe();
        if (slot >= 0) {
            fill(slot, OP_FSYNC, fd, 0, 0, 0, dataSync ? FSYNC_DATASYNC : 0, userData);
        }
        return slot;
    }

    @Override
    public int prepFallocate(int fd, int mode, long offset, long length, long userData) {
        int slot = nextSqe();
        if (slot >= 0) {
            // io_uring's fallocate: off = offset, addr = length, len = mode.
            fill(slot, OP_FALLOCATE, fd, offset, length, mode, 0, userData);
        }
        return slot;
    }

    @Override
    public int prepNop(long userData) {
        int slot = nextSqe();
        if (slot >= 0) {
            fill(slot, OP_NOP, -1, 0, 0, 0, 0, userData);
        }
        return slot;
    }

    /**
     * Sets {@code SQE_*} flags on a prepared, unsubmitted SQE (by the slot its {@code prep*} returned): e.g.
     * {@link #SQE_FIXED_FILE} (its fd is then an index into the registered files) or {@link #SQE_IO_LINK}.
     */
    public void setSqeFlags(int slot, int flags) {
        sqes.set(JAVA_BYTE, slot * SQE_SIZE + SQE_FLAGS, (byte) flags);
    }

    private int prepRw(byte op, int fd, long addr, int len, long offset, long userData) {
        int slot = nextSqe();
        if (slot >= 0) {
            fill(slot, op, fd, offset, addr, len, 0, userData);
        }
        return slot;
    }

    private int prepVectored(byte op, int fd, MemorySegment[] iovs, int iovCount, long offset, long userData) {
        if (iovCount < 1 || iovCount > maxIovs || iovCount > iovs.length) {
            return -Errno.EINVAL;
        }
        int slot = nextSqe();
        if (slot < 0) {
            return slot;
        }
        long base = (long) slot * maxIovs * IOVEC_SIZE;
        for (int i = 0; i < iovCount; i++) {
            MemorySegment s = iovs[i];
            if (!s.isNative()) {
                return -Errno.EINVAL; // the SQE is not published until it is filled, so the slot stays free
            }
            iovecs.set(JAVA_LONG, base + i * IOVEC_SIZE, s.address());
            iovecs.set(JAVA_LONG, base + i * IOVEC_SIZE + 8, s.byteSize());
        }
        fill(slot, op, fd, offset, iovecBase + base, iovCount, 0, userData);
        return slot;
    }

    /**
     * The next free SQE slot, or -EAGAIN when {@link #depth()} operations are outstanding or the SQ is full. Keeping
     * outstanding operations to the SQ size (half the CQ) means the CQ never overflows.
     */
    private int nextSqe() {
        if (outstanding >= sqEntries || sqeTail - (int) INT.getAcquire(sqRing, sqHeadOff) >= sqEntries) {
            return -Errno.EAGAIN;
        }
        return sqeTail & sqMask;
    }

    private void fill(int slot, byte op, int fd, long off, long addr, int len, int opFlags, long userData) {
        long b = slot * SQE_SIZE;
        MemorySegment s = sqes;
        s.set(JAVA_BYTE, b + SQE_OPCODE, op);
        s.set(JAVA_BYTE, b + SQE_FLAGS, (byte) 0);
        s.set(JAVA_SHORT, b + SQE_IOPRIO, (short) 0);
        s.set(JAVA_INT, b + SQE_FD, fd);
        s.set(JAVA_LONG, b + SQE_OFF, off);
        s.set(JAVA_LONG, b + SQE_ADDR, addr);
        s.set(JAVA_INT, b + SQE_LEN, len);
        s.set(JAVA_INT, b + SQE_OP_FLAGS, opFlags);
        s.set(JAVA_LONG, b + SQE_USER_DATA, userData);
        s.set(JAVA_SHORT, b + SQE_BUF_INDEX, (short) 0);
        s.set(JAVA_SHORT, b + SQE_PERSONALITY, (short) 0);
        s.set(JAVA_INT, b + SQE_FILE_INDEX, 0);
        s.set(JAVA_LONG, b + SQE_ADDR3, 0L);
        s.set(JAVA_LONG, b + SQE_PAD, 0L);
        sqeTail++;
        outstanding++;
    }

    // ---- submitting and reaping ----------------------------------------------------------------------------------

    @Override
    public int submit() {
        return enter(0, 0);
    }

    /**
     * Publishes the SQ tail and enters the kernel when there is something to submit or a reason to collect
     * completions (GETEVENTS with {@code minComplete}, or task work / overflow flagged in the SQ flags).
     */
    private int enter(int minComplete, int enterFlags) {
        int toSubmit = sqeTail - (int) INT.getAcquire(sqRing, sqHeadOff);
        if (toSubmit > 0) {
            INT.setRelease(sqRing, sqTailOff, sqeTail);
        }
        if (((int) INT.getAcquire(sqRing, sqFlagsOff) & (SQ_TASKRUN | SQ_CQ_OVERFLOW)) != 0) {
            enterFlags |= ENTER_GETEVENTS; // completions wait for us to run task work, or sit in the overflow list
        }
        if (toSubmit == 0 && (enterFlags & ENTER_GETEVENTS) == 0) {
            return 0;
        }
        long rc = Syscall.raw(Syscall.SYS_IO_URING_ENTER, ringFd, toSubmit, minComplete, enterFlags, 0, 0);
        if (rc < 0) {
            int errno = (int) -rc;
            // Busy kernel or a signal: the SQEs stay in the ring and the next call submits them.
            if (errno == Errno.EAGAIN || errno == Errno.EBUSY || errno == Errno.EINTR) {
                return 0;
            }
            return (int) rc;
        }
        return (int) rc;
    }

    @Override
    public int reap(CompletionHandler handler, int max) {
        int rc = enter(0, 0);
        if (rc < 0) {
            return rc;
        }
        return drain(handler, max);
    }

    @Override
    public int reapWait(CompletionHandler handler, int minComplete) {
        int want = Math.min(minComplete, outstanding);
        int done = drain(handler, Integer.MAX_VALUE);
        while (done < want) {
            // The CQ is empty here, so the kernel's "at least min_complete CQEs" counts only new ones.
            int rc = enter(want - done, ENTER_GETEVENTS);
            if (rc < 0) {
                return rc;
            }
            done += drain(handler, Integer.MAX_VALUE);
        }
        return done;
    }

    private int drain(CompletionHandler handler, int max) {
        MemorySegment cq = cqRing;
        int tail = (int) INT.getAcquire(cq, cqTailOff);
        int head = cqHead;
        int n = 0;
        while (tail - head > 0 && n < max) {
            long e = cqesOff + (head & cqMask) * CQE_SIZE;
            long userData = cq.get(JAVA_LONG, e + CQE_USER_DATA);
            int res = cq.get(JAVA_INT, e + CQE_RES);
            int flags = cq.get(JAVA_INT, e + CQE_FLAGS);
            head++;
            // Give the CQE back before calling out: the handler may submit and reap again.
            cqHead = head;
            INT.setRelease(cq, cqHeadOff, head);
            outstanding--;
            n++;
            handler.onCompletion(userData, res, flags);
            head = cqHead;
        }
        return n;
    }

    // ---- registration ------------------------------------------------------------------------------------------

    /**
     * Registers buffers for READ_FIXED/WRITE_FIXED (their index is their position). The kernel pins them; unregister
     * (or close) before freeing them. Control plane, on the owning thread.
     */
    public void registerBuffers(MemorySegment[] buffers) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = a.allocate(IOVEC_SIZE * buffers.length, 8);
            for (int i = 0; i < buffers.length; i++) {
                iov.set(JAVA_LONG, i * IOVEC_SIZE, buffers[i].address());
                iov.set(JAVA_LONG, i * IOVEC_SIZE + 8, buffers[i].byteSize());
            }
            register(REGISTER_BUFFERS, iov.address(), buffers.length, "register " + buffers.length + " buffers");
        }
    }

    /** Drops the registered buffers. */
    public void unregisterBuffers() {
        register(UNREGISTER_BUFFERS, 0, 0, "unregister buffers");
    }

    /** Registers files; an SQE with {@link #SQE_FIXED_FILE} then names one by its index in {@code fds}. */
    public void registerFiles(int[] fds) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment arr = a.allocate(4L * fds.length, 4);
            for (int i = 0; i < fds.length; i++) {
                arr.set(JAVA_INT, 4L * i, fds[i]);
            }
            register(REGISTER_FILES, arr.address(), fds.length, "register " + fds.length + " files");
        }
    }

    /** Drops the registered files. */
    public void unregisterFiles() {
        register(UNREGISTER_FILES, 0, 0, "unregister files");
    }

    private void register(int opcode, long arg, int count, String what) {
        long rc = Syscall.raw(Syscall.SYS_IO_URING_REGISTER, ringFd, opcode, arg, count);
        if (rc < 0) {
            throw new NativeException("io_uring_register(fd " + ringFd + ", " + what + ")", (int) -rc);
        }
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
                    LOG.log(System.Logger.Level.WARNING, "io_uring fd {0}: waiting for {1} outstanding operations failed: {2}",
                            ringFd, outstanding, Errno.name(-rc));
                }
            }
        } finally {
            arena.close();
            Posix.closeRaw(ringFd);
        }
    }

    @Override
    public String toString() {
        return "IoUring[fd " + ringFd + ", " + sqEntries + "/" + cqEntries + " entries, " + describeSetupFlags(setupFlags)
                + ", outstanding " + outstanding + "]";
    }
}
