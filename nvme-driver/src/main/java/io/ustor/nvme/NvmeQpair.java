package io.ustor.nvme;

import io.ustor.env.DmaBuffer;
import io.ustor.env.Errno;
import io.ustor.nvme.internal.NvmeCommands;
import io.ustor.nvme.internal.NvmeRegisters;
import io.ustor.nvme.internal.PrpBuilder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static io.ustor.nvme.internal.NvmeCommands.CQE_SIZE;
import static io.ustor.nvme.internal.NvmeCommands.SQE_SIZE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One submission/completion queue pair, owned by one thread (a reactor): no locks, no allocation, no system calls
 * (but one: while commands are outstanding and nothing completes, at most every 100 ms the controller's health is
 * checked, {@link NvmeController#checkHealth()}, so that a removed device fails them with -ENODEV instead of hanging).
 *
 * <p>Each command occupies a slot ("tracker") whose index is its command identifier; callbacks, arguments and
 * submit times live in arrays by that index and each slot has a preallocated PRP list page in DMA memory. A
 * command is staged in its slot and copied into the submission queue when there is room, else it waits in a
 * pending ring (queue full means queued, not failed); only when every slot is busy does submission return -ENOMEM.
 * Completions are found by the phase bit (acquire read of dword 3). Doorbells: with {@code delayDoorbell} the SQ
 * tail is written once per {@link #processCompletions} call (so once per batch of submissions from a poll loop),
 * else after each submission; the CQ head once per batch of completions.
 *
 * <p>Submitting is a three-step sequence for scatter lists ({@link #begin}, {@link #addBuffer} per piece, then
 * {@link #submitRw}); contiguous buffers have one-call forms. A begun command must be submitted or {@link #cancel}ed
 * before the next {@link #begin}.
 */
public final class NvmeQpair {
    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final byte FREE = 0, STAGED = 1, PENDING = 2, SUBMITTED = 3;
    /** Empty polls with commands outstanding between looks at the clock for a health check. */
    private static final int IDLE_POLLS_PER_CLOCK = 4096;
    /** How often a queue pair waiting on its commands checks the controller's health itself. */
    private static final long HEALTH_CHECK_NANOS = 100_000_000L;

    private final NvmeController ctrlr;
    private final int qid;
    private final int entries;
    private final int slots;
    private final DmaBuffer sqMem, cqMem, prpMem;
    private final MemorySegment sq, cq, prpPages;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment stage;
    private final NvmeRegisters regs;
    private final long sqDoorbell, cqDoorbell;
    private final PrpBuilder prp;
    private final boolean delayDoorbell;

    private final NvmeCompletion[] callbacks;
    private final Object[] args;
    private final long[] submitNanos;
    private final byte[] state;
    private final int[] freeSlots;
    private int freeTop;
    private final int[] pending;
    private int pendingHead, pendingCount;

    private int sqTail, sqHead, cqHead, phase = 1;
    private boolean sqDirty;
    private int building = -1;
    private int outstanding;
    private int idlePolls;
    private long nextHealthCheck;
    private long submitted, completed, queuedFull, errors;
    private volatile boolean connected;

    NvmeQpair(NvmeController ctrlr, int qid, int entries, int slots, boolean delayDoorbell) {
        this.ctrlr = ctrlr;
        this.qid = qid;
        this.entries = entries;
        this.slots = slots;
        this.delayDoorbell = delayDoorbell;
        this.regs = ctrlr.registers();
        this.sqDoorbell = regs.sqTailDoorbell(qid);
        this.cqDoorbell = regs.cqHeadDoorbell(qid);
        // aligned to their own size (power of two, at most 2 MiB) so they never straddle a huge page: physically contiguous
        this.sqMem = ctrlr.dma().allocate((long) entries * SQE_SIZE, alignFor((long) entries * SQE_SIZE));
        this.cqMem = ctrlr.dma().allocate((long) entries * CQE_SIZE, alignFor((long) entries * CQE_SIZE));
        this.prpMem = ctrlr.dma().allocate((long) slots * PrpBuilder.PAGE, PrpBuilder.PAGE);
        String who = "nvme " + ctrlr.name() + " qpair " + qid;
        sqMem.requireDmaCapable(who);
        cqMem.requireDmaCapable(who);
        prpMem.requireDmaCapable(who);
        this.sq = sqMem.segment();
        this.cq = cqMem.segment();
        this.prpPages = prpMem.segment();
        sq.fill((byte) 0);
        cq.fill((byte) 0);
        this.stage = arena.allocate((long) slots * SQE_SIZE, SQE_SIZE);
        this.prp = new PrpBuilder(ctrlr.iovaMap());
        this.callbacks = new NvmeCompletion[slots];
        this.args = new Object[slots];
        this.submitNanos = new long[slots];
        this.state = new byte[slots];
        this.freeSlots = new int[slots];
        for (int i = 0; i < slots; i++) {
            freeSlots[i] = slots - 1 - i;
        }
        this.freeTop = slots;
        this.pending = new int[slots];
    }

    private static long alignFor(long size) {
        long a = Long.highestOneBit(size);
        if (a < size) {
            a <<= 1;
        }
        return Math.max(PrpBuilder.PAGE, Math.min(a, 2L << 20));
    }

    public int qid() {
        return qid;
    }

    /** Submission queue entries (one is always left empty, so entries-1 commands can be in the device). */
    public int entries() {
        return entries;
    }

    /** Command slots (commands in the device plus commands waiting for room). */
    public int slots() {
        return slots;
    }

    public NvmeController controller() {
        return ctrlr;
    }

    long sqIova() {
        return sqMem.iova();
    }

    long cqIova() {
        return cqMem.iova();
    }

    /** Commands submitted and not completed (in the device or waiting for room). */
    public int outstanding() {
        return outstanding;
    }

    public long submittedCount() {
        return submitted;
    }

    public long completedCount() {
        return completed;
    }

    /** Commands that found the submission queue full and waited for room. */
    public long queuedFullCount() {
        return queuedFull;
    }

    public long errorCount() {
        return errors;
    }

    public boolean isConnected() {
        return connected;
    }

    void markConnected(boolean on) {
        connected = on;
    }

    // ---- submission ----

    /** Takes a slot for a command; returns its command id, or -ENOMEM (every slot busy) / -ENODEV / -ENOTCONN. */
    public int begin(NvmeCompletion cb, Object arg) {
        if (!connected) {
            return ctrlr.isFailed() ? -Errno.ENODEV : -Errno.ENOTCONN;
        }
        if (freeTop == 0) {
            return -Errno.ENOMEM;
        }
        int cid = freeSlots[--freeTop];
        state[cid] = STAGED;
        callbacks[cid] = cb;
        args[cid] = arg;
        building = cid;
        prp.reset(prpPages, (long) cid * PrpBuilder.PAGE, prpMem.iova((long) cid * PrpBuilder.PAGE));
        return cid;
    }

    /** Adds a data buffer piece to the begun command {@code cid}; 0 or -EINVAL/-EFAULT/-E2BIG (then {@link #cancel}). */
    public int addBuffer(int cid, long vaddr, long length) {
        if (cid != building) {
            throw new IllegalStateException("command " + cid + " is not being built on " + this);
        }
        return prp.add(vaddr, length);
    }

    /** Gives back a begun command's slot without submitting it. */
    public void cancel(int cid) {
        if (cid == building) {
            building = -1;
        }
        release(cid);
    }

    /** Submits the begun read/write/compare ({@code opcode}) of {@code nlb} blocks at {@code slba}. */
    public int submitRw(int cid, int opcode, int nsid, long slba, int nlb, int cdw12Flags) {
        long off = (long) cid * SQE_SIZE;
        NvmeCommands.header(stage, off, opcode, cid, nsid);
        NvmeCommands.prp(stage, off, prp.prp1(), prp.prp2());
        NvmeCommands.lbaRange(stage, off, slba, nlb, cdw12Flags);
        return post(cid);
    }

    /** Reads {@code nlb} blocks into the contiguous DMA buffer at {@code vaddr}. */
    public int read(int nsid, long slba, int nlb, long vaddr, long length, NvmeCompletion cb, Object arg) {
        return rw(NvmeCommands.NVM_READ, nsid, slba, nlb, vaddr, length, 0, cb, arg);
    }

    /** Writes {@code nlb} blocks from the contiguous DMA buffer at {@code vaddr}. */
    public int write(int nsid, long slba, int nlb, long vaddr, long length, NvmeCompletion cb, Object arg) {
        return rw(NvmeCommands.NVM_WRITE, nsid, slba, nlb, vaddr, length, 0, cb, arg);
    }

    /** Compares {@code nlb} blocks with the buffer; a mismatch completes with {@link NvmeStatus#COMPARE_FAILURE}. */
    public int compare(int nsid, long slba, int nlb, long vaddr, long length, NvmeCompletion cb, Object arg) {
        return rw(NvmeCommands.NVM_COMPARE, nsid, slba, nlb, vaddr, length, 0, cb, arg);
    }

    private int rw(int opcode, int nsid, long slba, int nlb, long vaddr, long length, int flags, NvmeCompletion cb, Object arg) {
        int cid = begin(cb, arg);
        if (cid < 0) {
            return cid;
        }
        int rc = prp.add(vaddr, length);
        if (rc < 0) {
            cancel(cid);
            return rc;
        }
        return submitRw(cid, opcode, nsid, slba, nlb, flags);
    }

    /** Flush: makes the volatile write cache durable. */
    public int flush(int nsid, NvmeCompletion cb, Object arg) {
        int cid = begin(cb, arg);
        if (cid < 0) {
            return cid;
        }
        NvmeCommands.header(stage, (long) cid * SQE_SIZE, NvmeCommands.NVM_FLUSH, cid, nsid);
        return post(cid);
    }

    /** Write Zeroes of {@code nlb} (1..65536) blocks; {@code deallocate} lets the device deallocate them too. */
    public int writeZeroes(int nsid, long slba, int nlb, boolean deallocate, NvmeCompletion cb, Object arg) {
        int cid = begin(cb, arg);
        if (cid < 0) {
            return cid;
        }
        long off = (long) cid * SQE_SIZE;
        NvmeCommands.header(stage, off, NvmeCommands.NVM_WRITE_ZEROES, cid, nsid);
        NvmeCommands.lbaRange(stage, off, slba, nlb, deallocate ? NvmeCommands.WZ_DEAC : 0);
        return post(cid);
    }

    /** Most ranges one Dataset Management command carries (they fill the slot's page). */
    public static final int MAX_DSM_RANGES = PrpBuilder.PAGE / NvmeCommands.DSM_RANGE_SIZE;

    /**
     * Dataset Management deallocate (trim) of {@code nlb} blocks from {@code slba}, as up to {@link #MAX_DSM_RANGES}
     * ranges of at most 2^32-1 blocks; the range descriptors go in the slot's PRP page, so no buffer is needed.
     */
    public int deallocate(int nsid, long slba, long nlb, NvmeCompletion cb, Object arg) {
        long maxRange = 0xffffffffL;
        if (nlb <= 0 || nlb > maxRange * MAX_DSM_RANGES) {
            return -Errno.EINVAL;
        }
        int cid = begin(cb, arg);
        if (cid < 0) {
            return cid;
        }
        long page = (long) cid * PrpBuilder.PAGE;
        int ranges = 0;
        for (long lba = slba, left = nlb; left > 0; ranges++) {
            long n = Math.min(left, maxRange);
            NvmeCommands.dsmRange(prpPages, page + (long) ranges * NvmeCommands.DSM_RANGE_SIZE, lba, (int) n);
            lba += n;
            left -= n;
        }
        long off = (long) cid * SQE_SIZE;
        NvmeCommands.header(stage, off, NvmeCommands.NVM_DSM, cid, nsid);
        NvmeCommands.prp(stage, off, prpMem.iova(page), 0);
        NvmeCommands.cdw(stage, off, 10, ranges - 1);
        NvmeCommands.cdw(stage, off, 11, NvmeCommands.DSM_DEALLOCATE);
        return post(cid);
    }

    /**
     * Submits an arbitrary command (admin queue or vendor use): dwords 10-15 from {@code cdw}, data from the begun
     * command's buffers. The command id and PRPs are filled in.
     */
    public int submitRaw(int cid, int opcode, int nsid, int cdw10, int cdw11, int cdw12, int cdw13, int cdw14, int cdw15) {
        long off = (long) cid * SQE_SIZE;
        NvmeCommands.header(stage, off, opcode, cid, nsid);
        NvmeCommands.prp(stage, off, prp.prp1(), prp.prp2());
        NvmeCommands.cdw(stage, off, 10, cdw10);
        NvmeCommands.cdw(stage, off, 11, cdw11);
        NvmeCommands.cdw(stage, off, 12, cdw12);
        NvmeCommands.cdw(stage, off, 13, cdw13);
        NvmeCommands.cdw(stage, off, 14, cdw14);
        NvmeCommands.cdw(stage, off, 15, cdw15);
        return post(cid);
    }

    /** Create/Delete queue: PRP1 is the queue memory itself. Admin queue only. */
    void submitQueueCommand(int cid, int opcode, long prp1, int cdw10, int cdw11) {
        long off = (long) cid * SQE_SIZE;
        NvmeCommands.header(stage, off, opcode, cid, 0);
        NvmeCommands.prp(stage, off, prp1, 0);
        NvmeCommands.cdw(stage, off, 10, cdw10);
        NvmeCommands.cdw(stage, off, 11, cdw11);
        post(cid);
    }

    private int post(int cid) {
        building = -1;
        outstanding++;
        submitted++;
        if (pendingCount > 0 || sqFull()) {
            state[cid] = PENDING;
            pending[(pendingHead + pendingCount) % slots] = cid;
            pendingCount++;
            queuedFull++;
            return 0;
        }
        copyToSq(cid);
        if (!delayDoorbell) {
            ringSq();
        }
        return 0;
    }

    private boolean sqFull() {
        int next = sqTail + 1 == entries ? 0 : sqTail + 1;
        return next == sqHead;
    }

    private void copyToSq(int cid) {
        MemorySegment.copy(stage, (long) cid * SQE_SIZE, sq, (long) sqTail * SQE_SIZE, SQE_SIZE);
        state[cid] = SUBMITTED;
        submitNanos[cid] = System.nanoTime();
        sqTail = sqTail + 1 == entries ? 0 : sqTail + 1;
        sqDirty = true;
    }

    /** Writes the SQ tail doorbell if submissions were added since the last write. */
    public void ringSq() {
        if (sqDirty) {
            sqDirty = false;
            regs.ring(sqDoorbell, sqTail);
        }
    }

    private void movePending() {
        while (pendingCount > 0 && !sqFull()) {
            int cid = pending[pendingHead];
            pendingHead = pendingHead + 1 == slots ? 0 : pendingHead + 1;
            pendingCount--;
            copyToSq(cid);
        }
    }

    // ---- completion ----

    /**
     * Rings the SQ doorbell if needed, then completes up to {@code max} commands (0 = no limit) and calls their
     * callbacks; returns how many completed. When the controller failed, fails everything outstanding with -ENODEV.
     */
    public int processCompletions(int max) {
        if (!connected) {
            if (ctrlr.isFailed() && outstanding > 0) {
                return abortAll(-Errno.ENODEV);
            }
            return 0;
        }
        ringSq();
        int done = 0;
        int limit = max <= 0 ? Integer.MAX_VALUE : max;
        while (done < limit) {
            long off = (long) cqHead * CQE_SIZE;
            int dw3 = (int) INT.getAcquire(cq, off + 12);
            if (((dw3 >>> 16) & 1) != phase) {
                break;
            }
            int dw0 = cq.get(JAVA_INT, off);
            int dw2 = cq.get(JAVA_INT, off + 8);
            sqHead = dw2 & 0xffff;
            if (++cqHead == entries) {
                cqHead = 0;
                phase ^= 1;
            }
            int cid = dw3 & 0xffff;
            int status = NvmeStatus.fromStatusField(dw3 >>> 17);
            done++;
            if (cid >= slots || state[cid] != SUBMITTED) {
                ctrlr.logStrayCompletion(qid, cid, status);
                continue;
            }
            finish(cid, status, dw0);
        }
        if (done > 0) {
            regs.ring(cqDoorbell, cqHead);
            movePending();
            ringSq();
        } else if (outstanding > 0 && ++idlePolls >= IDLE_POLLS_PER_CLOCK) {
            return idleHealthCheck();
        }
        return done;
    }

    /**
     * Waiting on commands that do not complete: now and then look whether the device is gone (CSTS all ones) or the
     * kernel wants it back, so that a removed device fails its commands with -ENODEV instead of hanging them, even
     * for a user without a health poller.
     */
    private int idleHealthCheck() {
        idlePolls = 0;
        long now = System.nanoTime();
        if (now - nextHealthCheck < 0) {
            return 0;
        }
        nextHealthCheck = now + HEALTH_CHECK_NANOS;
        if (ctrlr.checkHealth() < 0) {
            connected = false;
            return abortAll(-Errno.ENODEV);
        }
        return 0;
    }

    private void finish(int cid, int status, int dw0) {
        NvmeCompletion cb = callbacks[cid];
        Object arg = args[cid];
        release(cid);
        outstanding--;
        completed++;
        if (status != 0) {
            errors++;
        }
        if (cb != null) {
            cb.onComplete(arg, status, dw0);
        }
    }

    private void release(int cid) {
        state[cid] = FREE;
        callbacks[cid] = null;
        args[cid] = null;
        freeSlots[freeTop++] = cid;
    }

    /**
     * Commands in the device for longer than {@code timeoutNanos} at {@code nowNanos}: returns the first such command
     * id, or -1. The caller decides (abort, reset); checking is allocation-free.
     */
    public int findTimedOut(long nowNanos, long timeoutNanos) {
        for (int cid = 0; cid < slots; cid++) {
            if (state[cid] == SUBMITTED && nowNanos - submitNanos[cid] > timeoutNanos) {
                return cid;
            }
        }
        return -1;
    }

    /** The opcode of an in-flight command (for logs). */
    public int opcodeOf(int cid) {
        return NvmeCommands.opcode(stage, (long) cid * SQE_SIZE);
    }

    /**
     * Fails every outstanding command (in the device or pending) with {@code status}; only when the device no longer
     * processes this queue (controller disabled, queue deleted or device gone). Returns how many.
     */
    public int abortAll(int status) {
        int n = 0;
        pendingCount = 0;
        pendingHead = 0;
        for (int cid = 0; cid < slots; cid++) {
            if (state[cid] == SUBMITTED || state[cid] == PENDING) {
                finish(cid, status, 0);
                n++;
            }
        }
        return n;
    }

    /** Forgets ring positions after the device dropped the queue (reset), before it is created again. */
    void resetRings() {
        sqTail = 0;
        sqHead = 0;
        cqHead = 0;
        phase = 1;
        sqDirty = false;
        cq.fill((byte) 0);
    }

    /** Frees the queue memory (after the device deleted the queue). */
    void free() {
        connected = false;
        sqMem.free();
        cqMem.free();
        prpMem.free();
        arena.close();
    }

    @Override
    public String toString() {
        return "nvme " + ctrlr.name() + " qpair " + qid;
    }
}
