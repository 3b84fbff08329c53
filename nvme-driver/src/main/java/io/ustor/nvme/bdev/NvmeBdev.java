package io.ustor.nvme.bdev;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.nvme.IdentifyController;
import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeNamespace;
import io.ustor.nvme.NvmeQpair;
import io.ustor.nvme.NvmeStatus;
import io.ustor.nvme.internal.NvmeCommands;
import io.ustor.reactor.Reactor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** A namespace of an attached NVMe controller as a bdev ("Nvme0n1"). I/O goes to the reactor's queue pair. */
public final class NvmeBdev extends Bdev {
    private static final System.Logger LOG = System.getLogger(NvmeBdev.class.getName());

    /** Completes the bdev io carried as the command's argument. */
    private static final NvmeCompletion DONE = (arg, status, dw0) -> finish((BdevIo) arg, status);

    private final NvmeBdevController owner;
    private final NvmeNamespace ns;
    private final IdentifyController id;
    private final int nsid;

    NvmeBdev(NvmeBdevController owner, NvmeNamespace ns) {
        super(owner.name() + "n" + ns.nsid(), ns.numBlocks(), ns.blockSize(), uuidOf(ns));
        this.owner = owner;
        this.ns = ns;
        this.nsid = ns.nsid();
        this.id = owner.controller().identify();
    }

    private static UUID uuidOf(NvmeNamespace ns) {
        if (ns.nguid() == null) {
            return null;
        }
        String h = ns.nguid();
        return new UUID(Long.parseUnsignedLong(h.substring(0, 16), 16), Long.parseUnsignedLong(h.substring(16), 16));
    }

    static void finish(BdevIo io, int status) {
        if (status == 0) {
            io.complete(BdevIoStatus.SUCCESS);
        } else if (status == NvmeStatus.COMPARE_FAILURE) {
            io.complete(BdevIoStatus.MISCOMPARE);
        } else if (status == -Errno.ECANCELED) {
            io.complete(BdevIoStatus.ABORTED);
        } else if (status < 0) {
            io.completeErrno(status);
        } else {
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                LOG.log(System.Logger.Level.DEBUG, "bdev {0}: {1} failed: {2}", io.bdev().name(), io, NvmeStatus.name(status));
            }
            io.completeErrno(Errno.EIO);
        }
    }

    public NvmeNamespace namespace() {
        return ns;
    }

    public NvmeBdevController owner() {
        return owner;
    }

    @Override
    public String productName() {
        return "NVMe disk";
    }

    @Override
    public String moduleName() {
        return "nvme";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return switch (type) {
            case READ, WRITE, FLUSH, RESET -> true;
            case UNMAP -> id.supportsDatasetManagement();
            case WRITE_ZEROES -> id.supportsWriteZeroes();
            case COMPARE -> id.supportsCompare();
            default -> false;
        };
    }

    @Override
    public int maxTransferBlocks() {
        return (int) Math.min(owner.controller().maxTransferBytes() / blockSize(), 65536);
    }

    /** PRP1 must be dword aligned; pieces after the first must start on a 4 KiB page (checked per command). */
    @Override
    public int requiredAlignment() {
        return 4;
    }

    @Override
    public boolean writeCache() {
        return id.volatileWriteCache();
    }

    @Override
    public Map<String, Object> driverSpecific() {
        Map<String, Object> nvme = new LinkedHashMap<>();
        nvme.put("pci_address", owner.traddr());
        Map<String, Object> trid = new LinkedHashMap<>();
        trid.put("trtype", "PCIe");
        trid.put("traddr", owner.traddr());
        nvme.put("trid", trid);
        Map<String, Object> ctrlr = new LinkedHashMap<>();
        ctrlr.put("vendor_id", String.format("0x%04x", id.vendorId()));
        ctrlr.put("model_number", id.modelNumber());
        ctrlr.put("serial_number", id.serialNumber());
        ctrlr.put("firmware_revision", id.firmwareRevision());
        ctrlr.put("cntlid", id.controllerId());
        nvme.put("ctrlr_data", ctrlr);
        Map<String, Object> nsData = new LinkedHashMap<>();
        nsData.put("id", nsid);
        nvme.put("ns_data", nsData);
        return Map.of("nvme", java.util.List.of(nvme));
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        return owner.getChannel();
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        owner.putChannel((NvmeChannel) moduleChannel);
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        NvmeChannel ch = (NvmeChannel) moduleChannel;
        NvmeQpair qp = ch.qpair;
        int rc;
        switch (io.type()) {
            case READ -> rc = rw(qp, io, NvmeCommands.NVM_READ);
            case WRITE -> rc = rw(qp, io, NvmeCommands.NVM_WRITE);
            case COMPARE -> rc = rw(qp, io, NvmeCommands.NVM_COMPARE);
            case FLUSH -> rc = qp.flush(nsid, DONE, io);
            case UNMAP -> rc = qp.deallocate(nsid, io.offsetBlocks(), io.numBlocks(), DONE, io);
            case WRITE_ZEROES -> rc = ch.writeZeroes(nsid, io);
            case RESET -> {
                owner.reset(io);
                return;
            }
            default -> rc = -Errno.EINVAL;
        }
        if (rc < 0) {
            io.completeErrno(rc);
        }
    }

    private int rw(NvmeQpair qp, BdevIo io, int opcode) {
        int cid = qp.begin(DONE, io);
        if (cid < 0) {
            return cid;
        }
        int n = io.iovCount();
        for (int i = 0; i < n; i++) {
            int rc = qp.addBuffer(cid, io.iovAddress(i), io.iovLength(i));
            if (rc < 0) {
                qp.cancel(cid);
                return rc;
            }
        }
        return qp.submitRw(cid, opcode, nsid, io.offsetBlocks(), (int) io.numBlocks(), 0);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        return CompletableFuture.completedFuture(null);
    }

    CompletableFuture<Void> removeBecauseControllerFailed() {
        return hotRemove();
    }
}
