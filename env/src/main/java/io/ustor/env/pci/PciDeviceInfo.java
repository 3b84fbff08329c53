package io.ustor.env.pci;

/**
 * What sysfs says about a PCI function.
 *
 * @param classCode  24-bit class code, e.g. 0x010802 (mass storage, NVM, NVMe)
 * @param numaNode   -1 when unknown
 * @param driver     the bound driver's name ("nvme", "vfio-pci", "uio_pci_generic"), or null when unbound
 * @param iommuGroup the IOMMU group number, or -1 when the device has none (no IOMMU)
 */
public record PciDeviceInfo(PciAddress address, int vendorId, int deviceId, int classCode, int numaNode, String driver,
                            int iommuGroup) {
    /** Class code of an NVMe controller. */
    public static final int CLASS_NVME = 0x010802;

    public boolean isNvme() {
        return classCode == CLASS_NVME;
    }

    @Override
    public String toString() {
        return String.format("%s [%04x:%04x] class %06x numa %d driver %s iommu_group %s", address, vendorId, deviceId,
                classCode, numaNode, driver == null ? "-" : driver, iommuGroup < 0 ? "-" : Integer.toString(iommuGroup));
    }
}
