package io.ustor.nvme.bdev;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.env.pci.PciDevice;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeNamespace;
import io.ustor.nvme.NvmeQpair;
import io.ustor.reactor.IoChannelFactory;
import io.ustor.reactor.IoDevice;
import io.ustor.reactor.Reactor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An attached controller in the bdev layer (SPDK's nvme_bdev_ctrlr): the controller, one bdev per namespace, and an
 * io_device whose per-reactor channel is an I/O queue pair shared by the controller's bdevs on that reactor.
 * Controller reset (a bdev RESET, or a command timeout) and hot-remove are handled here.
 */
public final class NvmeBdevController {
    private static final System.Logger LOG = System.getLogger(NvmeBdevController.class.getName());

    private final String name;
    private final String traddr;
    private final NvmeController ctrlr;
    private final BdevRegistry registry;
    private final IoDevice<NvmeChannel> channels;
    private final List<NvmeBdev> bdevs = new ArrayList<>();
    private final AtomicBoolean removed = new AtomicBoolean();
    private final AtomicBoolean resetting = new AtomicBoolean();
    private volatile long resets;
    private volatile long abortsSent, abortsDone;
    /** Set once the queue pairs are being released and the controller closed (detach, or after a failure). */
    private final AtomicBoolean releasing = new AtomicBoolean();
    private final CompletableFuture<Void> released = new CompletableFuture<>();

    private NvmeBdevController(String name, String traddr, NvmeController ctrlr, BdevRegistry registry) {
        this.name = name;
        this.traddr = traddr;
        this.ctrlr = ctrlr;
        this.registry = registry;
        this.channels = new IoDevice<>("nvme " + name, new IoChannelFactory<>() {
            @Override
            public NvmeChannel createChannel(Reactor r) {
                NvmeQpair qp = ctrlr.createIoQpair(0);
                return new NvmeChannel(NvmeBdevController.this, r, qp);
            }

            @Override
            public void destroyChannel(Reactor r, NvmeChannel ch) {
                ch.close();
                ctrlr.deleteIoQpair(ch.qpair);
            }
        });
    }

    /** Attaches the controller at PCI address {@code traddr} and registers bdevs NAMEn1, NAMEn2, ... Control plane. */
    public static NvmeBdevController attach(String name, String traddr, DmaMemory dma, BdevRegistry registry,
                                            NvmeControllerOptions options) {
        return register(name, traddr, NvmeController.attach(name, traddr, dma, options), registry);
    }

    /**
     * As {@link #attach(String, String, DmaMemory, BdevRegistry, NvmeControllerOptions)} for a device already open
     * (a software controller such as {@link io.ustor.nvme.model.NvmeControllerModel}'s); closing closes the device.
     */
    public static NvmeBdevController attach(String name, PciDevice device, DmaMemory dma, BdevRegistry registry,
                                            NvmeControllerOptions options) {
        return register(name, device.address().toString(), NvmeController.attach(name, device, dma, options), registry);
    }

    private static NvmeBdevController register(String name, String traddr, NvmeController c, BdevRegistry registry) {
        NvmeBdevController b = new NvmeBdevController(name, traddr, c, registry);
        try {
            for (NvmeNamespace ns : c.namespaces()) {
                NvmeBdev bdev = new NvmeBdev(b, ns);
                registry.register(bdev);
                b.bdevs.add(bdev);
            }
        } catch (RuntimeException e) {
            b.detach().exceptionally(t -> null);
            throw e;
        }
        return b;
    }

    public String name() {
        return name;
    }

    public String traddr() {
        return traddr;
    }

    public NvmeController controller() {
        return ctrlr;
    }

    public List<NvmeBdev> bdevs() {
        return List.copyOf(bdevs);
    }

    /** Controller resets done. */
    public long resetCount() {
        return resets;
    }

    /** Abort commands sent for timed-out commands (whatever their result). */
    public long abortCount() {
        return abortsSent;
    }

    /** Of {@link #abortCount()}, those the controller said it aborted (completion dword 0 bit 0 clear). */
    public long abortedCount() {
        return abortsDone;
    }

    NvmeChannel getChannel() {
        return channels.getChannel();
    }

    void putChannel(NvmeChannel ch) {
        channels.putChannel(ch);
    }

    /** One entry of bdev_nvme_get_controllers. */
    public Map<String, Object> describe() {
        Map<String, Object> trid = new LinkedHashMap<>();
        trid.put("trtype", "PCIe");
        trid.put("traddr", traddr);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("state", ctrlr.isFailed() ? "failed" : resetting.get() ? "resetting" : "enabled");
        c.put("released", ctrlr.isClosed());
        c.put("trid", trid);
        c.put("cntlid", ctrlr.identify().controllerId());
        c.put("access", ctrlr.device().accessName());
        c.put("model_number", ctrlr.identify().modelNumber());
        c.put("serial_number", ctrlr.identify().serialNumber());
        c.put("io_queues", channels.channelCount());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("ctrlrs", List.of(c));
        m.put("bdevs", bdevs.stream().map(NvmeBdev::name).toList());
        return m;
    }

    /**
     * Controller reset on the current reactor: disable, fail what is in the queues with ABORTED, re-enable, re-create
     * every reactor's queue pair. Completes {@code io} (a bdev RESET) when given.
     */
    void reset(BdevIo io) {
        if (!resetting.compareAndSet(false, true)) {
            if (io != null) {
                io.completeErrno(Errno.EBUSY);
            }
            return;
        }
        Reactor origin = Reactor.current();
        try {
            ctrlr.disableForReset();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "nvme {0}: reset failed: {1}", name, e.getMessage());
            ctrlr.markFailed("reset failed: " + e.getMessage());
            resetting.set(false);
            if (io != null) {
                io.complete(BdevIoStatus.FAILED);
            }
            controllerFailed();
            return;
        }
        channels.forEachChannel((r, ch) -> ch.qpair.abortAll(-Errno.ECANCELED), () -> {
            boolean ok = true;
            try {
                ctrlr.reenableAfterReset();
            } catch (RuntimeException e) {
                ok = false;
                ctrlr.markFailed("re-enable after reset failed: " + e.getMessage());
            }
            boolean enabled = ok;
            channels.forEachChannel((r, ch) -> {
                if (enabled) {
                    try {
                        ctrlr.reconnect(ch.qpair);
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.ERROR, "nvme {0}: re-creating {1}: {2}", name, ch.qpair, e.getMessage());
                    }
                }
            }, () -> {
                resets++;
                resetting.set(false);
                LOG.log(System.Logger.Level.WARNING, "nvme {0}: controller reset {1}", name, enabled ? "done" : "failed");
                if (io != null) {
                    io.complete(enabled ? BdevIoStatus.SUCCESS : BdevIoStatus.FAILED);
                }
                if (!enabled) {
                    controllerFailed(); // a controller that does not come back is removed like a vanished one
                }
            });
        });
        assert origin != null;
    }

    /**
     * A command ran past the I/O timeout: sends Abort for it (admin command, on this reactor). True when the Abort
     * went through (the command then completes, aborted or not); false when it could not be sent or failed.
     */
    boolean abortTimedOutCommand(NvmeChannel ch, int cid) {
        if (resetting.get()) {
            return true;
        }
        LOG.log(System.Logger.Level.ERROR, "nvme {0}: command {1} (opcode 0x{2}) on {3} timed out after {4} ms; aborting it",
                name, cid, Integer.toHexString(ch.qpair.opcodeOf(cid)), ch.qpair, ctrlr.options().ioTimeoutMs());
        try {
            abortsSent++;
            boolean aborted = ctrlr.abort(ch.qpair.qid(), cid);
            if (aborted) {
                abortsDone++;
            }
            LOG.log(System.Logger.Level.WARNING, "nvme {0}: abort of command {1} on {2}: {3}", name, cid, ch.qpair,
                    aborted ? "aborted" : "not aborted by the controller");
            return true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "nvme {0}: abort of command {1} failed: {2}", name, cid, e.getMessage());
            return false;
        }
    }

    /** A timed-out command is still outstanding after its Abort: reset the controller (SPDK's action "reset"). */
    void commandTimedOut(NvmeChannel ch, int cid) {
        if (resetting.get()) {
            return;
        }
        LOG.log(System.Logger.Level.ERROR, "nvme {0}: command {1} (opcode 0x{2}) on {3} still outstanding after abort; resetting the controller",
                name, cid, Integer.toHexString(ch.qpair.opcodeOf(cid)), ch.qpair);
        reset(null);
    }

    /**
     * The controller is gone or dead: its bdevs are hot-removed (open descriptors get REMOVE; their I/O has failed
     * with ENODEV), once; when the last descriptor let go, the queue pairs are deleted and the controller closed, so
     * that its memory is freed, its DMA unmapped and the device handed back (a VFIO removal waits for that). The
     * controller stays listed (state "failed", "released" true) until detached.
     */
    void controllerFailed() {
        if (removed.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.ERROR, "nvme {0}: controller failed ({1}); removing its bdevs", name, ctrlr.failure());
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (NvmeBdev b : bdevs) {
                fs.add(b.removeBecauseControllerFailed());
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> release());
        }
    }

    /** Unregisters the bdevs, releases the queue pairs, shuts the controller down. */
    public CompletableFuture<Void> detach() {
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (NvmeBdev b : bdevs) {
            if (registry.lookup(b.name()) == b) {
                fs.add(registry.unregister(b.name()));
            }
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> release());
        return released;
    }

    /** Once every channel is gone (after the bdevs went): closes the controller, once. */
    private void release() {
        if (!releasing.compareAndSet(false, true)) {
            return;
        }
        channels.unregister(() -> CompletableFuture.runAsync(() -> {
            try {
                ctrlr.close();
                released.complete(null);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "nvme {0}: close: {1}", name, e.getMessage());
                released.completeExceptionally(e);
            }
        }));
    }

    @Override
    public String toString() {
        return "nvme " + name + " (" + traddr + ")";
    }
}
