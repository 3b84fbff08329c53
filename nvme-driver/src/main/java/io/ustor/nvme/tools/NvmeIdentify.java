package io.ustor.nvme.tools;

import io.ustor.env.DmaMemory;
import io.ustor.nvme.IdentifyController;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeNamespace;
import io.ustor.nvme.SmartLog;

/** {@code nvme-identify BDF}: controller and namespace summary, health, and the error log. */
public final class NvmeIdentify {
    private NvmeIdentify() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: nvme-identify BDF   (the device bound to vfio-pci or uio_pci_generic: bin/ustor-setup)");
            System.exit(2);
        }
        try (DmaMemory dma = ToolDma.forDevice(args[0]);
             NvmeController c = NvmeController.attach("Nvme0", args[0], dma, NvmeControllerOptions.defaults())) {
            IdentifyController id = c.identify();
            System.out.printf("Controller %s (%s)%n", args[0], c.device().accessName());
            System.out.printf("  Vendor ID:          0x%04x (subsystem 0x%04x)%n", id.vendorId(), id.subsystemVendorId());
            System.out.printf("  Model Number:       %s%n  Serial Number:      %s%n  Firmware Revision:  %s%n",
                    id.modelNumber(), id.serialNumber(), id.firmwareRevision());
            System.out.printf("  NVMe Version:       %s%n  Controller ID:      %d%n", id.versionString(), id.controllerId());
            System.out.printf("  Max Transfer:       %s%n", id.mdts() == 0 ? "unlimited" : (id.maxTransferBytes() / 1024) + " KiB");
            System.out.printf("  Max Queue Entries:  %d, I/O queues granted: %d, CAP.TO %d ms%n", c.mqes(), c.maxIoQueues(), c.readyTimeoutMs());
            System.out.printf("  Optional NVM cmds:  compare=%b write_zeroes=%b dataset_management=%b; volatile write cache=%b%n",
                    id.supportsCompare(), id.supportsWriteZeroes(), id.supportsDatasetManagement(), id.volatileWriteCache());
            System.out.printf("  Subsystem NQN:      %s%n", id.subsystemNqn());
            for (NvmeNamespace ns : c.namespaces()) {
                System.out.printf("Namespace %d: %d blocks of %d bytes (%.2f GiB), metadata %d, LBA format %d, NGUID %s, EUI64 %s%n",
                        ns.nsid(), ns.numBlocks(), ns.blockSize(), ns.sizeBytes() / (double) (1L << 30), ns.metadataSize(),
                        ns.lbaFormatIndex(), ns.nguid(), ns.eui64());
            }
            SmartLog s = c.smartLog();
            System.out.printf("Health: critical warning 0x%x, temperature %d C, spare %d%%, used %d%%, power-on hours %d,"
                            + " unsafe shutdowns %d, media errors %d, host reads %d, host writes %d%n", s.criticalWarning(),
                    s.temperatureKelvin() - 273, s.availableSpare(), s.percentageUsed(), s.powerOnHours(), s.unsafeShutdowns(),
                    s.mediaErrors(), s.hostReadCommands(), s.hostWriteCommands());
            System.out.println("Error log: " + c.errorLog(8));
        }
    }
}
