package io.ustor.nvme.tools;

import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.IovaMode;
import io.ustor.env.pci.PciAddress;
import io.ustor.env.pci.PciDeviceInfo;
import io.ustor.env.pci.PciSysfs;

/** DMA memory in the IOVA mode the device's driver needs (VA for vfio-pci, PA for uio_pci_generic). */
final class ToolDma {
    private ToolDma() {
    }

    static DmaMemory forDevice(String bdf) {
        PciDeviceInfo info = PciSysfs.system().read(PciAddress.parse(bdf));
        IovaMode mode = info.driver() != null && info.driver().startsWith("uio") ? IovaMode.PA : IovaMode.VA;
        return DmaMemory.open(DmaOptions.defaults().withIovaMode(mode));
    }
}
