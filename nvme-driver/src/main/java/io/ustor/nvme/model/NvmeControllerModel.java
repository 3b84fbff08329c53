package io.ustor.nvme.model;

import io.ustor.env.pci.PciAddress;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static io.ustor.nvme.internal.NvmeCommands.*;
import static io.ustor.nvme.internal.NvmeRegisters.*;
import static io.ustor.nvme.model.ModelStatus.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A software NVMe controller for tests and benchmarks (not a device): the controller side of the NVMe base
 * specification over memory, behind a {@link ModelPciDevice} that the real driver attaches to.
 *
 * <p>Registers: CAP (MQES from the options, CQR = 1, TO = 1 s, DSTRD = 0, CSS = NVM, MPSMIN = MPSMAX = 4 KiB), VS
 * 1.4, CC, CSTS, AQA/ASQ/ACQ, doorbells from 0x1000. Setting CC.EN brings up the admin queue from AQA/ASQ/ACQ and
 * sets CSTS.RDY (or CSTS.CFS when they are unusable); clearing it resets the controller (queues deleted, held
 * commands dropped, RDY cleared); CC.SHN reports shutdown complete.
 *
 * <p>Admin: Identify (namespace 00h, controller 01h, active namespace list 02h), Set/Get Features (Arbitration,
 * Volatile Write Cache, Number of Queues), Create/Delete I/O SQ and CQ (physically contiguous), Get Log Page (Error
 * Information, SMART / Health), Abort, Asynchronous Event Request (kept; the model raises no events), Format NVM.
 * I/O on namespace 1 (RAM, see {@link NvmeModelOptions}): Read, Write, Compare, Flush, Write Zeroes, Dataset
 * Management (deallocated blocks read zeroes); data through PRP1/PRP2 and PRP lists, validated (see
 * {@link PrpWalker}). Errors get the spec's statuses and are logged in the Error Information page.
 *
 * <p>Running: {@link #process()} does one step (reacts to CC, consumes every submission queue up to its doorbell,
 * posts completions with the phase tag) on the caller's thread: a benchmark steps it inline, allocation-free.
 * {@link #start()} runs the steps on the model's own thread instead (the driver's control plane spins on admin
 * completions, so attach needs it). Ordering is a device's: doorbells are read with acquire, completion dword 3
 * (phase tag) is written with release after the rest of the entry.
 *
 * <p>Error injection (any thread): {@link #failNextIo}, {@link #holdNextIo} / {@link #releaseHeld}, {@link #remove}
 * (surprise removal: all ones), {@link #requestRemoval} (orderly removal notice).
 */
public final class NvmeControllerModel implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NvmeControllerModel.class.getName());
    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final int SQE = SQE_SIZE, CQE = CQE_SIZE;
    /** Bytes of the scratch page used for admin data and DSM ranges. */
    private static final int SCRATCH = 64 * 1024;
    /** CAP.TO in 500 ms units. */
    private static final int TIMEOUT_UNITS = 2;

    private final String name;
    private final NvmeModelOptions options;
    private final ModelPciDevice device;
    private final MemorySegment bar;
    private final HostMemory host = new HostMemory();
    private final RamNamespace ns;
    private final PrpWalker prp;
    private final ModelLogs logs = new ModelLogs();
    private final HeldCommands held = new HeldCommands();
    private final NvmIoCommands nvm;
    private final ModelFeatures features;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(SCRATCH, 4096);
    private final MemorySegment replay = arena.allocate(SQE, SQE);
    private final long cap;
    private final long maxTransfer;

    // queues by id (0 = admin)
    private final int maxQid;
    private final long[] sqAddr, cqAddr;
    private final int[] sqSize, sqHead, sqCq, cqSize, cqTail, cqPhase, cqUsers;
    private final boolean[] sqOn, cqOn;
    private final int[] activeSq;
    private int activeSqCount;

    // controller state (engine thread)
    private int ccSeen;
    private boolean enabled;
    private int aerOutstanding;
    private int resultDw0;

    // error injection and control (any thread)
    private final AtomicInteger failCount = new AtomicInteger();
    private volatile int failStatus;
    private final AtomicInteger holdCount = new AtomicInteger();
    private volatile boolean holdAbortable;
    private volatile boolean releaseRequested;
    private volatile boolean removeRequested;
    private volatile int heldNow;

    // statistics (engine thread writes; others read for tests). The per-command counts are plain fields (no fence per
    // command): a reader that saw a command's completion (acquire of its phase tag) sees them counted.
    private long ioCommands, adminCommands;
    private volatile long resets, aborts, lostCompletions;
    private volatile String fatal;

    private volatile Thread runner;
    private volatile boolean running;
    private volatile boolean closed;

    private NvmeControllerModel(String name, PciAddress address, NvmeModelOptions options) {
        this.name = name;
        this.options = options;
        this.maxQid = options.maxIoQueues();
        this.maxTransfer = options.maxTransferBytes();
        this.ns = new RamNamespace(options.namespaceBytes(), options.blockSize(), nguid(options.serialNumber()));
        this.prp = new PrpWalker(host, Math.max(maxTransfer, SCRATCH));
        this.nvm = new NvmIoCommands(ns, prp, logs, maxTransfer);
        this.features = new ModelFeatures(options.maxIoQueues());
        int n = maxQid + 1;
        sqAddr = new long[n];
        cqAddr = new long[n];
        sqSize = new int[n];
        sqHead = new int[n];
        sqCq = new int[n];
        cqSize = new int[n];
        cqTail = new int[n];
        cqPhase = new int[n];
        cqUsers = new int[n];
        sqOn = new boolean[n];
        cqOn = new boolean[n];
        activeSq = new int[n];
        this.device = new ModelPciDevice(address, this);
        this.bar = device.bar(0);
        this.cap = (options.maxQueueEntries() - 1L)       // MQES
                | 1L << 16                                  // CQR: queues must be physically contiguous
                | (long) TIMEOUT_UNITS << 24                // TO
                | 1L << 37;                                 // CSS: NVM command set; DSTRD, MPSMIN, MPSMAX = 0
        bar.set(JAVA_INT, CAP, (int) cap);
        bar.set(JAVA_INT, CAP + 4, (int) (cap >>> 32));
        bar.set(JAVA_INT, VS, ModelIdentify.VERSION);
    }

    /** A model (stopped) whose device has PCI address {@code address} (any unused address, e.g. "0000:ff:00.0"). */
    public static NvmeControllerModel create(String name, String address, NvmeModelOptions options) {
        return new NvmeControllerModel(name, PciAddress.parse(address), options);
    }

    /** The PCI device to hand to {@code NvmeController.attach(name, device, dma, options)}. */
    public ModelPciDevice device() {
        return device;
    }

    public NvmeModelOptions options() {
        return options;
    }

    HostMemory host() {
        return host;
    }

    // ---- running ----

    /** Runs {@link #process()} on the model's own thread until {@link #stop()}. Idempotent. */
    public synchronized void start() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (runner != null) {
            return;
        }
        running = true;
        Thread t = Thread.ofPlatform().daemon().name("nvme-model " + name).unstarted(this::run);
        runner = t;
        t.start();
    }

    /** Stops the model's thread (waits for it); {@link #process()} may then be called inline. Idempotent. */
    public synchronized void stop() {
        Thread t = runner;
        if (t == null) {
            return;
        }
        running = false;
        LockSupport.unpark(t);
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        runner = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the model's own thread is running. */
    public boolean isRunning() {
        return runner != null;
    }

    private void run() {
        int idle = 0;
        while (running) {
            int n;
            try {
                n = process();
            } catch (RuntimeException | Error e) {
                fail("model error: " + e);
                LOG.log(System.Logger.Level.ERROR, "nvme model " + name + ": engine failed", e);
                return;
            }
            if (n > 0) {
                idle = 0;
            } else if (++idle < 256) {
                Thread.onSpinWait();
            } else {
                // the machine is shared: an idle model sleeps in short naps instead of spinning
                LockSupport.parkNanos(20_000);
            }
        }
    }

    /**
     * One step of the controller on the calling thread: reacts to CC, then consumes every submission queue up to
     * its doorbell while its completion queue has room. Returns the commands consumed (0 when idle). Not while
     * {@link #start()}ed (only the model's thread steps it then). Allocation-free.
     */
    public int process() {
        Thread r = runner;
        if (r != null && r != Thread.currentThread()) {
            throw new IllegalStateException(this + " runs on its own thread; stop() it before stepping inline");
        }
        if (device.isRemoved()) {
            return 0;
        }
        if (removeRequested) {
            device.markRemoved();
            enabled = false;
            LOG.log(System.Logger.Level.INFO, "nvme model {0}: removed (registers read all ones)", name);
            return 1;
        }
        int cc = (int) INT.getVolatile(bar, (long) CC);
        if (cc != ccSeen) {
            controllerConfiguration(cc);
        }
        if (!enabled || !device.busMasterEnabled()) {
            return 0; // queues live in host memory: without bus mastering the controller cannot fetch commands
        }
        int work = 0;
        if (releaseRequested) {
            work += replayHeld();
        }
        for (int i = 0; i < activeSqCount; i++) {
            work += drain(activeSq[i]);
        }
        return work;
    }

    // ---- registers ----

    private void controllerConfiguration(int cc) {
        int was = ccSeen;
        ccSeen = cc;
        if ((was & CC_EN) != 0 && (cc & CC_EN) == 0) {
            controllerReset();
            setCsts(0);
            return;
        }
        if ((was & CC_EN) == 0 && (cc & CC_EN) != 0) {
            enable(cc);
        }
        if ((cc & CC_SHN_MASK) != 0 && (was & CC_SHN_MASK) == 0) {
            // normal or abrupt shutdown: nothing volatile to write back, so it completes at once
            setCsts((csts() & ~CSTS_SHST_MASK) | CSTS_SHST_COMPLETE);
        }
    }

    private void enable(int cc) {
        int aqa = reg(AQA);
        int asqs = (aqa & 0xfff) + 1;
        int acqs = ((aqa >>> 16) & 0xfff) + 1;
        long asq = reg64(ASQ);
        long acq = reg64(ACQ);
        String why = null;
        if (((cc >>> 4) & 7) != 0) {
            why = "CC.CSS " + ((cc >>> 4) & 7) + " is not the NVM command set";
        } else if (((cc >>> 7) & 0xf) != 0) {
            why = "CC.MPS " + ((cc >>> 7) & 0xf) + " outside CAP.MPSMIN..MPSMAX (4 KiB only)";
        } else if (asqs < 2 || acqs < 2) {
            why = "AQA 0x" + Integer.toHexString(aqa) + ": admin queues need at least 2 entries";
        } else if ((asq & 0xfff) != 0 || (acq & 0xfff) != 0) {
            why = "ASQ/ACQ not page aligned";
        } else if (!device.busMasterEnabled()) {
            why = "bus mastering is disabled in the PCI command register";
        } else if (!host.reachable(asq, (long) asqs * SQE) || !host.reachable(acq, (long) acqs * CQE)) {
            why = "admin queues outside the attached DMA memory";
        }
        if (why != null) {
            fail(why);
            return;
        }
        sqAddr[0] = asq;
        sqSize[0] = asqs;
        sqHead[0] = 0;
        sqCq[0] = 0;
        sqOn[0] = true;
        openCq(0, acq, acqs);
        cqUsers[0] = 1;
        activeSqCount = 0;
        activeSq[activeSqCount++] = 0;
        enabled = true;
        setCsts(CSTS_RDY);
    }

    /** CC.EN 1 -> 0: every queue is gone, held commands and outstanding events are dropped, features reset. */
    private void controllerReset() {
        enabled = false;
        for (int q = 0; q <= maxQid; q++) {
            sqOn[q] = false;
            cqOn[q] = false;
            cqUsers[q] = 0;
        }
        activeSqCount = 0;
        held.clear();
        heldNow = 0;
        aerOutstanding = 0;
        features.reset();
        bar.asSlice(DOORBELLS, ModelPciDevice.BAR0_SIZE - DOORBELLS).fill((byte) 0);
        resets++;
    }

    /** Controller Fatal Status: the host must reset the controller. */
    private void fail(String why) {
        fatal = why;
        enabled = false;
        setCsts(csts() | CSTS_CFS);
        LOG.log(System.Logger.Level.WARNING, "nvme model {0}: controller fatal status: {1}", name, why);
    }

    private int reg(long off) {
        return (int) INT.getVolatile(bar, off);
    }

    private long reg64(long off) {
        return (reg(off) & 0xffffffffL) | ((long) reg(off + 4) << 32);
    }

    private int csts() {
        return reg(CSTS);
    }

    private void setCsts(int v) {
        INT.setVolatile(bar, (long) CSTS, v);
    }

    private static long sqDoorbell(int qid) {
        return DOORBELLS + 8L * qid;
    }

    private static long cqDoorbell(int qid) {
        return DOORBELLS + 8L * qid + 4;
    }

    // ---- queues ----

    private int drain(int qid) {
        int size = sqSize[qid];
        int tail = (int) INT.getAcquire(bar, sqDoorbell(qid));
        if (tail < 0 || tail >= size) {
            return 0; // an invalid doorbell value is ignored (a controller would report it by asynchronous event)
        }
        int head = sqHead[qid];
        int cq = sqCq[qid];
        int n = 0;
        while (head != tail && sqOn[qid] && enabled) {
            if (cqFull(cq)) {
                break;
            }
            long sqe = sqAddr[qid] + (long) head * SQE;
            head = head + 1 == size ? 0 : head + 1;
            sqHead[qid] = head;
            if (qid == 0) {
                admin(sqe);
            } else {
                io(qid, sqe);
            }
            n++;
        }
        return n;
    }

    private boolean cqFull(int cq) {
        int head = (int) INT.getAcquire(bar, cqDoorbell(cq));
        int next = cqTail[cq] + 1 == cqSize[cq] ? 0 : cqTail[cq] + 1;
        return next == head || head < 0 || head >= cqSize[cq];
    }

    private void openCq(int qid, long addr, int size) {
        cqAddr[qid] = addr;
        cqSize[qid] = size;
        cqTail[qid] = 0;
        cqPhase[qid] = 1;
        cqUsers[qid] = 0;
        cqOn[qid] = true;
        INT.setVolatile(bar, cqDoorbell(qid), 0);
    }

    /** Posts the completion of command {@code cid} from {@code sqid}; status as in {@link ModelStatus}. */
    private void complete(int sqid, int cid, int status, int dw0, long sqe) {
        if (status != 0 && status != ABORT_REQUESTED && status != ABORTED_SQ_DELETION) {
            int nsid = HostMemory.getInt(sqe + 4);
            long lba = sqid == 0 ? 0 : HostMemory.getLong(sqe + 40);
            logs.error(sqid, cid, status, nsid, lba);
        }
        int cq = sqCq[sqid];
        if (!cqOn[cq] || cqFull(cq)) {
            lostCompletions++;
            return;
        }
        long e = cqAddr[cq] + (long) cqTail[cq] * CQE;
        HostMemory.ALL.set(JAVA_INT, e, dw0);
        HostMemory.ALL.set(JAVA_INT, e + 4, 0);
        HostMemory.ALL.set(JAVA_INT, e + 8, (sqid << 16) | sqHead[sqid]);
        // the phase tag publishes the entry: release after the other dwords
        INT.setRelease(HostMemory.ALL, e + 12, (cid & 0xffff) | cqPhase[cq] << 16 | ModelStatus.field(status) << 17);
        if (++cqTail[cq] == cqSize[cq]) {
            cqTail[cq] = 0;
            cqPhase[cq] ^= 1;
        }
    }

    // ---- I/O commands ----

    private void io(int qid, long sqe) {
        ioCommands++;
        int dw0 = HostMemory.getInt(sqe);
        int cid = dw0 >>> 16;
        if (failCount.get() > 0 && failCount.getAndDecrement() > 0) {
            complete(qid, cid, failStatus, 0, sqe);
            return;
        }
        if (holdCount.get() > 0 && !held.full() && holdCount.getAndDecrement() > 0) {
            held.add(qid, sqe, holdAbortable);
            heldNow = held.count();
            return;
        }
        complete(qid, cid, nvm.execute(dw0, sqe), 0, sqe);
    }

    // ---- held commands ----

    /** Executes held commands after {@link #releaseHeld()}: each completes as if it had just arrived. */
    private int replayHeld() {
        releaseRequested = false;
        int n = 0;
        while (held.count() > 0) {
            int qid = held.sqid(0);
            if (!sqOn[qid] || cqFull(sqCq[qid])) {
                break;
            }
            held.take(0, replay);
            long sqe = replay.address();
            int dw0 = HostMemory.getInt(sqe);
            complete(qid, dw0 >>> 16, nvm.execute(dw0, sqe), 0, sqe);
            n++;
        }
        heldNow = held.count();
        return n;
    }

    /** Completes the held commands of {@code sqid} with {@code status} (SQ deletion). */
    private void completeHeldOf(int sqid, int status) {
        for (int i = held.count() - 1; i >= 0; i--) {
            if (held.sqid(i) == sqid) {
                complete(sqid, held.cid(i), status, 0, held.address(i));
                held.remove(i);
            }
        }
        heldNow = held.count();
    }

    // ---- admin commands ----

    private void admin(long sqe) {
        adminCommands++;
        int dw0 = HostMemory.getInt(sqe);
        int cid = dw0 >>> 16;
        resultDw0 = 0;
        int status;
        if ((dw0 & 0xc300) != 0) {
            status = INVALID_FIELD | DNR;
        } else {
            status = switch (dw0 & 0xff) {
                case ADM_IDENTIFY -> identify(sqe);
                case ADM_GET_LOG_PAGE -> getLogPage(sqe);
                case ADM_SET_FEATURES -> setFeatures(sqe);
                case ADM_GET_FEATURES -> getFeatures(sqe);
                case ADM_CREATE_CQ -> createCq(sqe);
                case ADM_CREATE_SQ -> createSq(sqe);
                case ADM_DELETE_SQ -> deleteSq(sqe);
                case ADM_DELETE_CQ -> deleteCq(sqe);
                case ADM_ABORT -> abort(sqe);
                case ADM_ASYNC_EVENT -> asyncEventRequest();
                case ADM_FORMAT_NVM -> format(sqe);
                default -> INVALID_OPCODE | DNR;
            };
        }
        if (status == NO_COMPLETION) {
            return;
        }
        complete(0, cid, status, resultDw0, sqe);
    }

    /** An admin command that completes later (an asynchronous event request). */
    private static final int NO_COMPLETION = -1;

    private static int cdw(long sqe, int n) {
        return HostMemory.getInt(sqe + 4L * n);
    }

    /** Sends {@code bytes} of the scratch page to the command's data buffer. */
    private int sendScratch(long sqe, long bytes) {
        int st = prp.walk(HostMemory.getLong(sqe + 24), HostMemory.getLong(sqe + 32), bytes);
        if (st != 0) {
            return st;
        }
        prp.toHost(scratch, 0);
        return 0;
    }

    private int identify(long sqe) {
        int cns = cdw(sqe, 10) & 0xff;
        int nsid = HostMemory.getInt(sqe + 4);
        MemorySegment page = scratch.asSlice(0, 4096);
        page.fill((byte) 0);
        switch (cns) {
            case CNS_NAMESPACE -> {
                if (nsid == 0 || nsid == -1 || Integer.compareUnsigned(nsid, 1) > 0) {
                    return INVALID_NAMESPACE | DNR;
                }
                ns.identify(page);
            }
            case CNS_CONTROLLER -> ModelIdentify.controller(page, options, 1);
            case CNS_ACTIVE_NS_LIST -> {
                if (nsid == -1 || nsid == -2) {
                    return INVALID_NAMESPACE | DNR;
                }
                if (Integer.compareUnsigned(nsid, RamNamespace.NSID) < 0) {
                    page.set(JAVA_INT, 0, RamNamespace.NSID);
                }
            }
            default -> {
                return INVALID_FIELD | DNR;
            }
        }
        return sendScratch(sqe, 4096);
    }

    private int getLogPage(long sqe) {
        int cdw10 = cdw(sqe, 10);
        int lid = cdw10 & 0xff;
        long numd = ((cdw10 >>> 16) | ((long) (cdw(sqe, 11) & 0xffff) << 16)) + 1;
        long bytes = numd * 4;
        long offset = (cdw(sqe, 12) & 0xffffffffL) | ((long) cdw(sqe, 13) << 32);
        if ((offset & 3) != 0 || bytes > SCRATCH) {
            return INVALID_FIELD | DNR;
        }
        int pageBytes;
        MemorySegment page = scratch.asSlice(0, SCRATCH);
        page.fill((byte) 0);
        switch (lid) {
            case LOG_ERROR -> {
                pageBytes = ModelLogs.ERROR_ENTRIES * 64;
                logs.errorPage(page);
            }
            case LOG_SMART -> {
                int nsid = HostMemory.getInt(sqe + 4);
                if (nsid != 0 && nsid != -1) {
                    return INVALID_FIELD | DNR; // LPA bit 0 is clear: no per-namespace SMART
                }
                pageBytes = 512;
                logs.smartPage(page);
            }
            default -> {
                return INVALID_LOG_PAGE | DNR;
            }
        }
        if (offset >= pageBytes) {
            return INVALID_FIELD | DNR;
        }
        if (offset > 0) {
            MemorySegment.copy(page, offset, page, 0, pageBytes - offset);
            page.asSlice(pageBytes - offset, offset).fill((byte) 0);
        }
        return sendScratch(sqe, bytes);
    }

    private int setFeatures(long sqe) {
        int status = features.set(cdw(sqe, 10), cdw(sqe, 11), ioQueuesExist());
        resultDw0 = features.result();
        return status;
    }

    private int getFeatures(long sqe) {
        int status = features.get(cdw(sqe, 10));
        resultDw0 = features.result();
        return status;
    }

    private boolean ioQueuesExist() {
        for (int q = 1; q <= maxQid; q++) {
            if (sqOn[q] || cqOn[q]) {
                return true;
            }
        }
        return false;
    }

    private int queueEntrySizes() {
        // CC.IOSQES / CC.IOCQES must say 64 and 16 bytes before I/O queues are created
        return ((ccSeen >>> 16) & 0xf) == 6 && ((ccSeen >>> 20) & 0xf) == 4 ? 0 : INVALID_FIELD | DNR;
    }

    private int createCq(long sqe) {
        int cdw10 = cdw(sqe, 10);
        int cdw11 = cdw(sqe, 11);
        int qid = cdw10 & 0xffff;
        int size = (cdw10 >>> 16) + 1;
        long base = HostMemory.getLong(sqe + 24);
        if (qid == 0 || qid > features.grantedCq() + 1 || cqOn[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        if (size < 2 || size > options.maxQueueEntries()) {
            return INVALID_QUEUE_SIZE | DNR;
        }
        if ((cdw11 & 1) == 0 || queueEntrySizes() != 0) {
            return INVALID_FIELD | DNR; // CAP.CQR: only physically contiguous queues
        }
        if ((base & 0xfff) != 0) {
            return PRP_OFFSET_INVALID | DNR;
        }
        if (!host.reachable(base, (long) size * CQE)) {
            return DATA_TRANSFER_ERROR;
        }
        openCq(qid, base, size);
        return 0;
    }

    private int createSq(long sqe) {
        int cdw10 = cdw(sqe, 10);
        int cdw11 = cdw(sqe, 11);
        int qid = cdw10 & 0xffff;
        int size = (cdw10 >>> 16) + 1;
        int cqid = cdw11 >>> 16;
        long base = HostMemory.getLong(sqe + 24);
        if (qid == 0 || qid > features.grantedSq() + 1 || sqOn[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        if (cqid == 0 || cqid > maxQid || !cqOn[cqid]) {
            return CQ_INVALID | DNR;
        }
        if (size < 2 || size > options.maxQueueEntries()) {
            return INVALID_QUEUE_SIZE | DNR;
        }
        if ((cdw11 & 1) == 0 || queueEntrySizes() != 0) {
            return INVALID_FIELD | DNR;
        }
        if ((base & 0xfff) != 0) {
            return PRP_OFFSET_INVALID | DNR;
        }
        if (!host.reachable(base, (long) size * SQE)) {
            return DATA_TRANSFER_ERROR;
        }
        sqAddr[qid] = base;
        sqSize[qid] = size;
        sqHead[qid] = 0;
        sqCq[qid] = cqid;
        cqUsers[cqid]++;
        INT.setVolatile(bar, sqDoorbell(qid), 0);
        sqOn[qid] = true;
        activeSq[activeSqCount++] = qid;
        return 0;
    }

    private int deleteSq(long sqe) {
        int qid = cdw(sqe, 10) & 0xffff;
        if (qid == 0 || qid > maxQid || !sqOn[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        // commands still in the controller complete as aborted before the delete completes
        completeHeldOf(qid, ABORTED_SQ_DELETION);
        sqOn[qid] = false;
        cqUsers[sqCq[qid]]--;
        for (int i = 0; i < activeSqCount; i++) {
            if (activeSq[i] == qid) {
                System.arraycopy(activeSq, i + 1, activeSq, i, activeSqCount - i - 1);
                activeSqCount--;
                break;
            }
        }
        return 0;
    }

    private int deleteCq(long sqe) {
        int qid = cdw(sqe, 10) & 0xffff;
        if (qid == 0 || qid > maxQid || !cqOn[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        if (cqUsers[qid] > 0) {
            return INVALID_QUEUE_DELETION | DNR;
        }
        cqOn[qid] = false;
        return 0;
    }

    /** Abort: a held abortable command completes with Command Abort Requested; dword 0 bit 0 = 1 when not aborted. */
    private int abort(long sqe) {
        aborts++;
        int cdw10 = cdw(sqe, 10);
        int sqid = cdw10 & 0xffff;
        int acid = cdw10 >>> 16;
        int i = held.find(sqid, acid);
        if (i >= 0 && held.abortable(i) && sqOn[sqid]) {
            complete(sqid, acid, ABORT_REQUESTED, 0, held.address(i));
            held.remove(i);
            heldNow = held.count();
            resultDw0 = 0;
        } else {
            resultDw0 = 1;
        }
        return 0;
    }

    private int asyncEventRequest() {
        if (aerOutstanding > ModelIdentify.AERL) {
            return AER_LIMIT_EXCEEDED | DNR;
        }
        aerOutstanding++;
        return NO_COMPLETION; // completes when an event happens; the model raises none
    }

    private int format(long sqe) {
        int nsid = HostMemory.getInt(sqe + 4);
        int cdw10 = cdw(sqe, 10);
        if (nsid != RamNamespace.NSID && nsid != -1) {
            return INVALID_NAMESPACE | DNR;
        }
        int lbaf = cdw10 & 0xf;
        int pi = (cdw10 >>> 5) & 7;
        int ses = (cdw10 >>> 9) & 7;
        if (lbaf >= RamNamespace.formats() || pi != 0) {
            return INVALID_FORMAT | DNR;
        }
        if (ses > 2) {
            return INVALID_FIELD | DNR;
        }
        ns.format(lbaf);
        return 0;
    }

    // ---- error injection ----

    /** The next {@code count} I/O commands complete with {@code status} (SCT << 8 | SC) without being executed. */
    public void failNextIo(int count, int status) {
        if (status <= 0 || status > 0x7ff) {
            throw new IllegalArgumentException("status 0x" + Integer.toHexString(status) + " is not an NVMe status");
        }
        failStatus = status;
        failCount.set(count);
    }

    /**
     * The next {@code count} I/O commands are fetched and never completed on their own. With {@code abortable}
     * an Abort for one completes it with Command Abort Requested; without, the controller answers the Abort with
     * "not aborted" and the command stays until a controller reset, its queue's deletion or {@link #releaseHeld}.
     */
    public void holdNextIo(int count, boolean abortable) {
        holdAbortable = abortable;
        holdCount.set(count);
    }

    /** Executes the held commands (as if they had just arrived) on the engine's next step; stops further holding. */
    public void releaseHeld() {
        holdCount.set(0);
        releaseRequested = true;
    }

    /** Commands held now. */
    public int heldCommands() {
        return heldNow;
    }

    /**
     * Surprise removal: from now on every register and config space read returns all ones and the controller does
     * nothing. With the model's thread running this waits until the engine applied it; else it applies at once.
     */
    public void remove() {
        if (runner == null) {
            removeRequested = true;
            process();
            return;
        }
        removeRequested = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!device.isRemoved()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(this + ": the engine did not apply the removal");
            }
            LockSupport.parkNanos(100_000);
        }
    }

    /**
     * An orderly hot-remove request, as VFIO's device request announces one: the device keeps working but
     * {@link ModelPciDevice#removalRequested()} turns true, so the driver must quiesce it and let go.
     */
    public void requestRemoval() {
        device.requestRemoval();
    }

    // ---- state for tests ----

    /** I/O commands fetched. */
    public long ioCommands() {
        return ioCommands;
    }

    /** Admin commands fetched. */
    public long adminCommands() {
        return adminCommands;
    }

    /** Controller resets (CC.EN 1 -> 0). */
    public long resets() {
        return resets;
    }

    /** Abort commands received. */
    public long aborts() {
        return aborts;
    }

    /** Completions dropped because the completion queue was full or gone (0 with a correct driver). */
    public long lostCompletions() {
        return lostCompletions;
    }

    /** Errors recorded in the Error Information log. */
    public long errors() {
        return logs.errors();
    }

    /** Why the controller reported fatal status, or null. */
    public String fatalReason() {
        return fatal;
    }

    /** Namespace 1's current block size. */
    public int blockSize() {
        return 1 << ns.blockShift();
    }

    /** Namespace 1's size in blocks. */
    public long numBlocks() {
        return ns.numBlocks();
    }

    /**
     * Namespace 1's medium (for checking what the driver wrote). Reading it while the model runs sees whatever the
     * engine wrote so far.
     */
    public MemorySegment media() {
        return ns.media();
    }

    /** Stops the thread and frees the BAR, the medium and the model's buffers. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            stop();
            closed = true;
        }
        device.close();
        device.freeBar();
        held.close();
        nvm.close();
        ns.close();
        arena.close();
    }

    @Override
    public String toString() {
        return "nvme model " + name;
    }

    private static byte[] nguid(String serial) {
        byte[] g = new byte[16];
        g[0] = 0x55;
        g[1] = 0x53;
        byte[] s = serial.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < s.length; i++) {
            g[2 + i % 14] ^= s[i];
        }
        return g;
    }
}
