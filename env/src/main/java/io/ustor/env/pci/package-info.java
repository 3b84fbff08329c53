/**
 * PCI devices from user space: discovery from sysfs ({@link io.ustor.env.pci.PciSysfs}), and access to a device's
 * BARs and config space through VFIO ({@link io.ustor.env.pci.VfioPciDevice}, type1 IOMMU, every DMA memory region
 * mapped IOVA = VA) or through UIO / sysfs resource files ({@link io.ustor.env.pci.UioPciDevice}, DMA by physical
 * address). {@link io.ustor.env.pci.PciDevices#open} picks the one the device is bound to.
 */
package io.ustor.env.pci;
