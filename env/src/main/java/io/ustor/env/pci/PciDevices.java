package io.ustor.env.pci;

/** Opens a PCI function through whichever user-space driver it is bound to. */
public final class PciDevices {
    private PciDevices() {
    }

    /** VFIO when bound to vfio-pci, UIO when bound to uio_pci_generic; otherwise fails saying how to bind it. */
    public static PciDevice open(PciSysfs sysfs, PciAddress address) {
        PciDeviceInfo info = sysfs.read(address);
        String driver = info.driver();
        if ("vfio-pci".equals(driver)) {
            return VfioPciDevice.open(sysfs, address);
        }
        if (driver != null && driver.startsWith("uio")) {
            return UioPciDevice.open(sysfs, address);
        }
        throw new IllegalStateException("pci " + address + " is bound to " + (driver == null ? "no driver" : driver)
                + "; a user-space driver needs vfio-pci (with an IOMMU) or uio_pci_generic: run bin/ustor-setup");
    }

    public static PciDevice open(String address) {
        return open(PciSysfs.system(), PciAddress.parse(address));
    }
}
