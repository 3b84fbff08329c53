package io.ustor.nvme;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.env.pci.PciDevice;
import io.ustor.env.pci.PciDevices;
import io.ustor.nvme.internal.IovaMap;
import io.ustor.nvme.internal.NvmeCommands;
import io.ustor.nvme.internal.NvmeRegisters;
import io.ustor.nvme.internal.PrpBuilder;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.ustor.nvme.internal.NvmeRegisters.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * An NVMe controller driven from user space over PCIe (NVMe base spec, "Controller Initialization"): reset (CC.EN
 * cleared, wait for CSTS.RDY = 0 within CAP.TO), admin queue (AQA, ASQ, ACQ), CC (NVM command set, 4 KiB pages,
 * 64/16-byte entries), enable and wait for CSTS.RDY (failing on CSTS.CFS), Identify, Set Features (Number of
 * Queues), then I/O queue pairs on demand ({@link #createIoQpair}), each for one thread.
 *
 * <p>Admin commands are control plane: synchronous, serialized by a lock, polled with a timeout. I/O goes through
 * {@link NvmeQpair}s.
 *
 * <p>Removal: a device that is gone reads all ones (CSTS 0xFFFFFFFF); under VFIO the kernel first asks for the device
 * back (hot-unplug or unbind: the device request interrupt, {@link PciDevice#removalRequested()}) and waits until it
 * is closed. {@link #checkHealth()} (the bdev module's timed poller calls it, queue pairs waiting on commands call it
 * now and then, admin waits look too) sees either, stops a still reachable controller from touching memory (CC.EN and
 * bus mastering cleared) and fails the controller: outstanding and queued commands complete with -ENODEV, new ones
 * are refused, and {@link #isRemoved()} tells the owner to delete its queue pairs and {@link #close()} the
 * controller, which frees the queue memory, unmaps DMA and closes the device's descriptors so the removal completes.
 */
public final class NvmeController implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NvmeController.class.getName());
    private static final int ADMIN_BUF = 16384;

    private final String name;
    private final PciDevice device;
    private final DmaMemory dma;
    private final NvmeControllerOptions options;
    private final NvmeRegisters regs;
    private final IovaMap iovaMap;
    private final long cap;
    private final Object adminLock = new Object();
    private final NvmeQpair admin;
    private final DmaBuffer adminBuf;
    private final BitSet usedQids = new BitSet();
    /** Copy-on-write: {@link #markFailed} walks it from any thread. */
    private final List<NvmeQpair> ioQpairs = new CopyOnWriteArrayList<>();
    private IdentifyController identify;
    private final Map<Integer, NvmeNamespace> namespaces = new LinkedHashMap<>();
    private int maxIoQueues;
    private volatile boolean failed;
    private volatile String failure;
    private volatile boolean removed;
    private boolean closed;
    private volatile boolean released;
    /** Admin waits look at the device's removal notice at most this often (it costs a system call). */
    private static final long NOTICE_CHECK_NANOS = 10_000_000L;

    private NvmeController(String name, PciDevice device, DmaMemory dma, NvmeControllerOptions options) {
        this.name = name;
        this.device = device;
        this.dma = dma;
        this.options = options;
        device.attachDma(dma);
        device.enableBusMastering();
        this.regs = new NvmeRegisters(device.bar(0));
        this.cap = regs.read64(CAP);
        if (cap == -1L) {
            throw new IllegalStateException(this + ": CAP reads all ones: the device is gone or BAR0 is not mapped");
        }
        if (((cap >>> 37) & 1) == 0) {
            throw new IllegalStateException(this + ": the controller does not support the NVM command set (CAP.CSS 0x"
                    + Long.toHexString((cap >>> 37) & 0xff) + ")");
        }
        if (((cap >>> 48) & 0xf) > 0) {
            throw new IllegalStateException(this + ": minimum memory page size " + (4096 << ((cap >>> 48) & 0xf)) + " > 4096");
        }
        this.iovaMap = dma::iova;
        int adminEntries = Math.min(Math.min(options.adminQueueEntries(), mqes()), 4096);
        this.admin = new NvmeQpair(this, 0, adminEntries, adminEntries - 1, false);
        this.adminBuf = dma.allocate(ADMIN_BUF, PrpBuilder.PAGE);
        adminBuf.requireDmaCapable(toString());
    }

    /**
     * Opens the PCI device at {@code pciAddress} (bound to vfio-pci or uio_pci_generic), brings the controller up and
     * identifies it. {@code dma} must use IOVA = VA for VFIO and physical addresses for UIO.
     */
    public static NvmeController attach(String name, String pciAddress, DmaMemory dma, NvmeControllerOptions options) {
        PciDevice dev = PciDevices.open(pciAddress);
        try {
            return attach(name, dev, dma, options);
        } catch (RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /** Brings up the controller behind an opened device; closing the controller closes the device. */
    public static NvmeController attach(String name, PciDevice device, DmaMemory dma, NvmeControllerOptions options) {
        NvmeController c = new NvmeController(name, device, dma, options);
        try {
            c.initialize();
        } catch (RuntimeException e) {
            c.releaseAfterFailedAttach();
            throw e;
        }
        return c;
    }

    private void releaseAfterFailedAttach() {
        try {
            regs.write32(CC, 0);
        } catch (RuntimeException ignored) {
            // best effort: the device may be gone
        }
        admin.free();
        adminBuf.free();
    }

    private void initialize() {
        long t0 = System.nanoTime();
        disable();
        admin.resetRings();
        int q = admin.entries() - 1;
        regs.write32(AQA, (q << 16) | q);
        regs.write64(ASQ, admin.sqIova());
        regs.write64(ACQ, admin.cqIova());
        // CC: IOCQES 4 (16 B), IOSQES 6 (64 B), AMS round robin, MPS 0 (4 KiB), CSS NVM
        regs.write32(CC, (4 << 20) | (6 << 16) | CC_EN);
        waitReady(true, "enable");
        admin.markConnected(true);
        identify = IdentifyController.parse(adminCommand("identify controller", NvmeCommands.ADM_IDENTIFY, 0, 4096,
                NvmeCommands.CNS_CONTROLLER, 0, 0));
        int dw0 = adminCommandDw0("set features number of queues", NvmeCommands.ADM_SET_FEATURES, 0,
                NvmeCommands.FEAT_NUMBER_OF_QUEUES, ((options.maxIoQueues() - 1) << 16) | (options.maxIoQueues() - 1));
        maxIoQueues = Math.min(dw0 & 0xffff, dw0 >>> 16) + 1;
        scanNamespaces();
        LOG.log(System.Logger.Level.INFO, "{0}: ready in {1} ms: {2} {3} sn {4} fw {5}, NVMe {6}, {7} namespaces, {8} I/O queues, MQES {9}",
                this, Long.toString((System.nanoTime() - t0) / 1_000_000), Integer.toHexString(identify.vendorId()),
                identify.modelNumber(), identify.serialNumber(), identify.firmwareRevision(), identify.versionString(),
                namespaces.size(), maxIoQueues, mqes());
    }

    private void scanNamespaces() {
        namespaces.clear();
        List<Integer> ids = new ArrayList<>();
        try {
            MemorySegment list = adminCommand("identify active namespace list", NvmeCommands.ADM_IDENTIFY, 0, 4096,
                    NvmeCommands.CNS_ACTIVE_NS_LIST, 0, 0);
            for (int i = 0; i < 1024; i++) {
                int id = list.get(JAVA_INT_UNALIGNED, 4L * i);
                if (id == 0) {
                    break;
                }
                ids.add(id);
            }
        } catch (NvmeException e) {
            // before NVMe 1.1 there is no active list: try every namespace id up to NN
            for (int id = 1; id <= identify.namespaceCount(); id++) {
                ids.add(id);
            }
        }
        for (int id : ids) {
            NvmeNamespace ns = NvmeNamespace.parse(id, adminCommand("identify namespace " + id, NvmeCommands.ADM_IDENTIFY,
                    id, 4096, NvmeCommands.CNS_NAMESPACE, 0, 0));
            if (ns != null) {
                namespaces.put(id, ns);
            }
        }
    }

    /** CAP.MQES + 1: the largest queue. */
    public int mqes() {
        return (int) (cap & 0xffff) + 1;
    }

    /** CAP.TO in milliseconds (worst case time to become ready). */
    public long readyTimeoutMs() {
        return ((cap >>> 24) & 0xff) * 500L;
    }

    private void disable() {
        int cc = regs.read32(CC);
        if ((cc & CC_EN) != 0) {
            regs.write32(CC, cc & ~CC_EN);
        }
        waitReady(false, "disable");
    }

    private void waitReady(boolean ready, String what) {
        long deadline = System.nanoTime() + (readyTimeoutMs() + 1000) * 1_000_000L;
        while (true) {
            int csts = regs.read32(CSTS);
            if (csts == -1) {
                markFailed("CSTS reads all ones during " + what + ": the device was removed");
                throw new IllegalStateException(this + ": " + failure);
            }
            if ((csts & CSTS_CFS) != 0 && ready) {
                throw new IllegalStateException(this + ": controller fatal status (CSTS.CFS) during " + what);
            }
            if (((csts & CSTS_RDY) != 0) == ready) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(this + ": CSTS.RDY did not become " + (ready ? 1 : 0) + " within CAP.TO "
                        + readyTimeoutMs() + " ms (" + what + ", CSTS 0x" + Integer.toHexString(csts) + ")");
            }
            Thread.onSpinWait();
        }
    }

    // ---- admin commands ----

    /** Collects one admin completion for the polling caller. */
    private static final class AdminWaiter implements NvmeCompletion {
        boolean done;
        int status;
        int dw0;

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            this.done = true;
            this.status = status;
            this.dw0 = dw0;
        }
    }

    /** Runs an admin command with {@code dataBytes} of the admin buffer; returns the buffer (valid until the next command). */
    private MemorySegment adminCommand(String what, int opcode, int nsid, int dataBytes, int cdw10, int cdw11, int cdw12) {
        synchronized (adminLock) {
            runAdmin(what, opcode, nsid, dataBytes, cdw10, cdw11, cdw12, 0);
            return adminBuf.segment().asSlice(0, Math.max(dataBytes, 1));
        }
    }

    private int adminCommandDw0(String what, int opcode, int nsid, int cdw10, int cdw11) {
        synchronized (adminLock) {
            return runAdmin(what, opcode, nsid, 0, cdw10, cdw11, 0, 0);
        }
    }

    private int runAdmin(String what, int opcode, int nsid, int dataBytes, int cdw10, int cdw11, int cdw12, long dataIova) {
        if (failed) {
            throw new NvmeException(this + ": " + what + " (" + failure + ")", -Errno.ENODEV);
        }
        AdminWaiter w = new AdminWaiter();
        int cid = admin.begin(w, null);
        if (cid < 0) {
            throw new NvmeException(this + ": " + what + ": no admin slot", cid);
        }
        if (dataBytes > 0) {
            int rc = admin.addBuffer(cid, adminBuf.address(), dataBytes);
            if (rc < 0) {
                admin.cancel(cid);
                throw new NvmeException(this + ": " + what + ": data buffer", rc);
            }
        } else if (dataIova != 0) {
            throw new IllegalArgumentException("dataIova");
        }
        admin.submitRaw(cid, opcode, nsid, cdw10, cdw11, cdw12, 0, 0, 0);
        return awaitAdmin(w, what);
    }

    /**
     * Polls the admin queue until {@code w} completes; a removed or dead controller (CSTS all ones or CFS, or the
     * kernel asking for the device back) fails the controller and every admin command with -ENODEV instead of
     * waiting for the timeout. Returns dword 0; throws on an error status.
     */
    private int awaitAdmin(AdminWaiter w, String what) {
        long start = System.nanoTime();
        long deadline = start + options.adminTimeoutMs() * 1_000_000L;
        long nextNotice = start + NOTICE_CHECK_NANOS;
        while (!w.done) {
            admin.processCompletions(0);
            if (w.done) {
                break;
            }
            long now = System.nanoTime();
            int csts = regs.read32(CSTS);
            String dead = csts == -1 ? "device removed (CSTS reads all ones)"
                    : (csts & CSTS_CFS) != 0 ? "controller fatal status (CSTS.CFS)" : null;
            if (dead == null && now > nextNotice) {
                nextNotice = now + NOTICE_CHECK_NANOS;
                if (device.removalRequested()) {
                    quiesceForRemoval();
                    dead = "the device is being removed (hot-remove; " + device.accessName() + ")";
                }
            }
            if (dead != null) {
                if (csts == -1 || device.removalRequested()) {
                    removed = true;
                }
                markFailed(dead);
                admin.markConnected(false);
                admin.abortAll(-Errno.ENODEV);
                break;
            }
            if (now > deadline) {
                throw new NvmeException(this + ": " + what + " timed out after " + options.adminTimeoutMs() + " ms", -Errno.ETIMEDOUT);
            }
            Thread.onSpinWait();
        }
        if (w.status != 0) {
            throw new NvmeException(this + ": " + what, w.status);
        }
        return w.dw0;
    }

    /** Get Features; returns completion dword 0. */
    public int getFeature(int fid, int cdw11) {
        return adminCommandDw0("get features 0x" + Integer.toHexString(fid), NvmeCommands.ADM_GET_FEATURES, 0, fid, cdw11);
    }

    /** Set Features; returns completion dword 0. */
    public int setFeature(int fid, int cdw11) {
        return adminCommandDw0("set features 0x" + Integer.toHexString(fid), NvmeCommands.ADM_SET_FEATURES, 0, fid, cdw11);
    }

    /** SMART / health information (controller-wide). */
    public SmartLog smartLog() {
        synchronized (adminLock) {
            return SmartLog.parse(getLogPage(NvmeCommands.LOG_SMART, 0xffffffff, 512));
        }
    }

    /** Up to {@code count} newest Error Information entries (fewer when the controller keeps fewer: ELPE + 1). */
    public List<ErrorLogEntry> errorLog(int count) {
        int n = Math.min(Math.min(count, identifyElpe() + 1), ADMIN_BUF / ErrorLogEntry.SIZE);
        synchronized (adminLock) {
            MemorySegment d = getLogPage(NvmeCommands.LOG_ERROR, 0, n * ErrorLogEntry.SIZE);
            List<ErrorLogEntry> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ErrorLogEntry e = ErrorLogEntry.parse(d, (long) i * ErrorLogEntry.SIZE);
                if (e.errorCount() != 0) {
                    out.add(e);
                }
            }
            return out;
        }
    }

    private int identifyElpe() {
        return 63; // ELPE is byte 262 of Identify; we read at most what the buffer holds and skip empty entries
    }

    private MemorySegment getLogPage(int lid, int nsid, int bytes) {
        int numd = bytes / 4 - 1;
        return adminCommand("get log page 0x" + Integer.toHexString(lid), NvmeCommands.ADM_GET_LOG_PAGE, nsid, bytes,
                lid | ((numd & 0xffff) << 16), numd >>> 16, 0);
    }

    /** Abort (admin): asks the controller to abort command {@code cid} on {@code sqid}; true when it was aborted. */
    public boolean abort(int sqid, int cid) {
        int dw0 = adminCommandDw0("abort sqid " + sqid + " cid " + cid, NvmeCommands.ADM_ABORT, 0, (cid << 16) | sqid, 0);
        return (dw0 & 1) == 0;
    }

    /** Format NVM of a namespace with LBA format {@code lbaf} (secure erase none); re-reads the namespace. */
    public NvmeNamespace format(int nsid, int lbaf) {
        synchronized (adminLock) {
            long saved = options.adminTimeoutMs();
            runAdmin("format namespace " + nsid, NvmeCommands.ADM_FORMAT_NVM, nsid, 0, lbaf & 0xf, 0, 0, 0);
            scanNamespaces();
            return namespaces.get(nsid);
        }
    }

    // ---- I/O queue pairs ----

    /** Creates an I/O queue pair with {@code entries} (0 = the options' size) for one thread. Control plane. */
    public NvmeQpair createIoQpair(int entries) {
        synchronized (adminLock) {
            if (closed || failed) {
                throw new IllegalStateException(this + " is " + (closed ? "closed" : "failed: " + failure));
            }
            int qid = usedQids.nextClearBit(1);
            if (qid > maxIoQueues) {
                throw new IllegalStateException(this + ": all " + maxIoQueues + " I/O queues are in use");
            }
            int n = Math.max(2, Math.min(entries > 0 ? entries : options.ioQueueEntries(), mqes()));
            int slots = options.ioQueueSlots() > 0 ? options.ioQueueSlots() : 2 * (n - 1);
            NvmeQpair qp = new NvmeQpair(this, qid, n, slots, options.delayDoorbell());
            try {
                createQueues(qp);
            } catch (RuntimeException e) {
                qp.free();
                throw e;
            }
            usedQids.set(qid);
            ioQpairs.add(qp);
            return qp;
        }
    }

    private void createQueues(NvmeQpair qp) {
        int size = ((qp.entries() - 1) << 16) | qp.qid();
        runAdminIova("create I/O completion queue " + qp.qid(), NvmeCommands.ADM_CREATE_CQ, qp.cqIova(), size, 1);
        try {
            runAdminIova("create I/O submission queue " + qp.qid(), NvmeCommands.ADM_CREATE_SQ, qp.sqIova(), size, (qp.qid() << 16) | 1);
        } catch (RuntimeException e) {
            runAdminIova("delete I/O completion queue " + qp.qid(), NvmeCommands.ADM_DELETE_CQ, 0, qp.qid(), 0);
            throw e;
        }
        qp.markConnected(true);
    }

    /** An admin command whose PRP1 is a queue's memory (contiguous, PC = 1). */
    private void runAdminIova(String what, int opcode, long prp1, int cdw10, int cdw11) {
        if (failed) {
            throw new NvmeException(this + ": " + what + " (" + failure + ")", -Errno.ENODEV);
        }
        AdminWaiter w = new AdminWaiter();
        int cid = admin.begin(w, null);
        if (cid < 0) {
            throw new NvmeException(this + ": " + what + ": no admin slot", cid);
        }
        admin.submitQueueCommand(cid, opcode, prp1, cdw10, cdw11);
        awaitAdmin(w, what);
    }

    /**
     * Deletes a queue pair (its owner must not use it any more): Delete SQ, then Delete CQ, fails whatever is left
     * with -ECANCELED and frees the memory.
     */
    public void deleteIoQpair(NvmeQpair qp) {
        synchronized (adminLock) {
            if (!ioQpairs.remove(qp)) {
                return;
            }
            try {
                if (!failed && qp.isConnected()) {
                    runAdminIova("delete I/O submission queue " + qp.qid(), NvmeCommands.ADM_DELETE_SQ, 0, qp.qid(), 0);
                    qp.processCompletions(0);
                    runAdminIova("delete I/O completion queue " + qp.qid(), NvmeCommands.ADM_DELETE_CQ, 0, qp.qid(), 0);
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "{0}: deleting {1}: {2}", this, qp, e.getMessage());
            } finally {
                qp.markConnected(false);
                qp.abortAll(-Errno.ECANCELED);
                usedQids.clear(qp.qid());
                qp.free();
            }
        }
    }

    // ---- reset, failure ----

    /**
     * Controller reset, step 1 (any thread): every queue pair stops (submissions fail -ENOTCONN), the controller is
     * disabled, so the device no longer touches queue memory.
     */
    public void disableForReset() {
        synchronized (adminLock) {
            for (NvmeQpair qp : ioQpairs) {
                qp.markConnected(false);
            }
            admin.markConnected(false);
            disable();
            admin.abortAll(-Errno.ECANCELED);
            LOG.log(System.Logger.Level.WARNING, "{0}: disabled for reset", this);
        }
    }

    /** Controller reset, step 2 (after each owner called {@link NvmeQpair#abortAll} on its queue pairs): re-initializes. */
    public void reenableAfterReset() {
        synchronized (adminLock) {
            initialize();
        }
    }

    /** Controller reset, step 3 (on the owner's thread): re-creates the queue pair in the device. */
    public void reconnect(NvmeQpair qp) {
        synchronized (adminLock) {
            qp.resetRings();
            createQueues(qp);
        }
    }

    /**
     * Full reset for a single-threaded user that owns every queue pair (tools, tests): outstanding commands complete
     * with -ECANCELED, then every queue pair works again.
     */
    public void reset() {
        disableForReset();
        List<NvmeQpair> qps;
        synchronized (adminLock) {
            qps = List.copyOf(ioQpairs);
        }
        for (NvmeQpair qp : qps) {
            qp.abortAll(-Errno.ECANCELED);
        }
        reenableAfterReset();
        for (NvmeQpair qp : qps) {
            reconnect(qp);
        }
    }

    /**
     * Reads CSTS: 0 when healthy, -ENODEV after the device vanished (all ones) or reported a fatal status; then
     * every queue pair fails its outstanding commands on its owner's next poll. Allocation-free when healthy.
     */
    public int checkHealth() {
        if (failed) {
            return -Errno.ENODEV;
        }
        int csts = regs.read32(CSTS);
        if (csts == -1) {
            removed = true;
            markFailed("device removed (CSTS reads all ones)");
            return -Errno.ENODEV;
        }
        if ((csts & CSTS_CFS) != 0) {
            markFailed("controller fatal status (CSTS.CFS, CSTS 0x" + Integer.toHexString(csts) + ")");
            return -Errno.ENODEV;
        }
        if (device.removalRequested()) {
            // going away (VFIO: it still answers but must be given back; UIO: it may answer until its slot powers
            // off): stop it touching our memory first
            quiesceForRemoval();
            removed = true;
            markFailed("the device is being removed (hot-remove; " + device.accessName() + ")");
            return -Errno.ENODEV;
        }
        if (device.errorReported()) {
            markFailed("uncorrectable PCIe error reported (AER)");
            return -Errno.ENODEV;
        }
        return 0;
    }

    /**
     * Best effort, on a device that is still reachable but going away: clears CC.EN (the controller drops its queues)
     * and bus mastering (no more DMA), so that failing the outstanding commands cannot let the device write into
     * buffers that are handed back.
     */
    private void quiesceForRemoval() {
        try {
            regs.write32(CC, 0);
            device.disableBusMastering();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "{0}: quiesce before removal: {1}", this, e.getMessage());
        }
    }

    /** Marks the controller failed: queue pairs disconnect and fail outstanding I/O with -ENODEV when polled. */
    public void markFailed(String why) {
        synchronized (ioQpairs) {
            if (failed) {
                return;
            }
            failure = why;
            failed = true;
        }
        for (NvmeQpair qp : ioQpairs) {
            qp.markConnected(false);
        }
        LOG.log(System.Logger.Level.ERROR, "{0}: failed: {1}; outstanding I/O fails with ENODEV", this, why);
    }

    public boolean isFailed() {
        return failed;
    }

    /**
     * The device is gone or the kernel wants it back: the owner should release everything and {@link #close()} the
     * controller (under VFIO the kernel's removal waits for that).
     */
    public boolean isRemoved() {
        return removed;
    }

    /** Whether {@link #close()} ran: queues freed, DMA unmapped, the device's descriptors closed. */
    public boolean isClosed() {
        return released;
    }

    /** Why the controller failed, or null. */
    public String failure() {
        return failure;
    }

    void logStrayCompletion(int qid, int cid, int status) {
        LOG.log(System.Logger.Level.WARNING, "{0}: completion for unknown command {1} on queue {2} ({3})", this, cid, qid,
                NvmeStatus.name(status));
    }

    // ---- accessors ----

    public String name() {
        return name;
    }

    public PciDevice device() {
        return device;
    }

    public DmaMemory dma() {
        return dma;
    }

    NvmeRegisters registers() {
        return regs;
    }

    IovaMap iovaMap() {
        return iovaMap;
    }

    public NvmeControllerOptions options() {
        return options;
    }

    public IdentifyController identify() {
        return identify;
    }

    /** Active namespaces by id. */
    public List<NvmeNamespace> namespaces() {
        synchronized (adminLock) {
            return List.copyOf(namespaces.values());
        }
    }

    public NvmeNamespace namespace(int nsid) {
        synchronized (adminLock) {
            return namespaces.get(nsid);
        }
    }

    /** I/O queues the controller granted. */
    public int maxIoQueues() {
        return maxIoQueues;
    }

    /** Largest transfer per command in bytes (MDTS and the single PRP list page). */
    public long maxTransferBytes() {
        long mdts = identify.maxTransferBytes();
        return mdts == 0 ? PrpBuilder.MAX_TRANSFER_BYTES : Math.min(mdts, PrpBuilder.MAX_TRANSFER_BYTES);
    }

    public long capabilities() {
        return cap;
    }

    public int version() {
        return regs.read32(VS);
    }

    /**
     * Deletes the I/O queues (their owners must be done), shuts the controller down (CC.SHN normal, wait for
     * CSTS.SHST complete), and closes the device. Idempotent.
     */
    @Override
    public void close() {
        synchronized (adminLock) {
            if (closed) {
                return;
            }
            for (NvmeQpair qp : List.copyOf(ioQpairs)) {
                deleteIoQpair(qp);
            }
            closed = true;
            if (!failed) {
                try {
                    regs.write32(CC, (regs.read32(CC) & ~CC_SHN_MASK) | CC_SHN_NORMAL);
                    long deadline = System.nanoTime() + Math.max(readyTimeoutMs(), 1000) * 1_000_000L;
                    while ((regs.read32(CSTS) & CSTS_SHST_MASK) != CSTS_SHST_COMPLETE && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    }
                    regs.write32(CC, 0);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "{0}: shutdown: {1}", this, e.getMessage());
                }
            }
            admin.markConnected(false);
            admin.free();
            adminBuf.free();
            try {
                device.disableBusMastering();
            } catch (RuntimeException ignored) {
                // the device may be gone
            }
            device.close();
            released = true;
            LOG.log(System.Logger.Level.INFO, "{0}: detached{1}", this, removed ? " (removed: the device is released)" : "");
        }
    }

    @Override
    public String toString() {
        return "nvme " + name + " (" + device.address() + " " + device.accessName() + ")";
    }
}
