package io.ustor.env.pci;

import io.ustor.env.Ioctl;

/** VFIO ioctl numbers, flags and struct sizes (linux/vfio.h). */
final class Vfio {
    private static final int TYPE = ';', BASE = 100;

    static final int API_VERSION = 0;
    static final long GET_API_VERSION = Ioctl.io(TYPE, BASE),
            CHECK_EXTENSION = Ioctl.io(TYPE, BASE + 1),
            SET_IOMMU = Ioctl.io(TYPE, BASE + 2),
            GROUP_GET_STATUS = Ioctl.io(TYPE, BASE + 3),
            GROUP_SET_CONTAINER = Ioctl.io(TYPE, BASE + 4),
            GROUP_UNSET_CONTAINER = Ioctl.io(TYPE, BASE + 5),
            GROUP_GET_DEVICE_FD = Ioctl.io(TYPE, BASE + 6),
            DEVICE_GET_INFO = Ioctl.io(TYPE, BASE + 7),
            DEVICE_GET_REGION_INFO = Ioctl.io(TYPE, BASE + 8),
            DEVICE_GET_IRQ_INFO = Ioctl.io(TYPE, BASE + 9),
            DEVICE_SET_IRQS = Ioctl.io(TYPE, BASE + 10),
            DEVICE_RESET = Ioctl.io(TYPE, BASE + 11),
            IOMMU_GET_INFO = Ioctl.io(TYPE, BASE + 12),
            IOMMU_MAP_DMA = Ioctl.io(TYPE, BASE + 13),
            IOMMU_UNMAP_DMA = Ioctl.io(TYPE, BASE + 14);

    static final int TYPE1_IOMMU = 1, TYPE1v2_IOMMU = 3;
    static final int GROUP_FLAGS_VIABLE = 1;
    static final int DMA_MAP_FLAG_READ = 1, DMA_MAP_FLAG_WRITE = 2;
    static final int REGION_INFO_FLAG_READ = 1, REGION_INFO_FLAG_WRITE = 2, REGION_INFO_FLAG_MMAP = 4;
    static final int IOMMU_INFO_CAPS = 2, IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
    static final int PCI_BAR0_REGION_INDEX = 0, PCI_CONFIG_REGION_INDEX = 7;
    /** IRQ indexes of vfio-pci (enum after VFIO_PCI_INTX/MSI/MSIX_IRQ_INDEX = 0, 1, 2). */
    static final int PCI_ERR_IRQ_INDEX = 3, PCI_REQ_IRQ_INDEX = 4;
    static final int IRQ_INFO_EVENTFD = 1;
    static final int IRQ_SET_DATA_EVENTFD = 1 << 2, IRQ_SET_ACTION_TRIGGER = 1 << 5;

    /** struct vfio_group_status {argsz, flags}. */
    static final int GROUP_STATUS_SIZE = 8;
    /** struct vfio_region_info {argsz, flags, index, cap_offset; u64 size, offset}. */
    static final int REGION_INFO_SIZE = 32;
    /** struct vfio_iommu_type1_dma_map {argsz, flags; u64 vaddr, iova, size}. */
    static final int DMA_MAP_SIZE = 32;
    /** struct vfio_iommu_type1_dma_unmap {argsz, flags; u64 iova, size}. */
    static final int DMA_UNMAP_SIZE = 24;
    /** struct vfio_irq_info {argsz, flags, index, count}. */
    static final int IRQ_INFO_SIZE = 16;
    /** struct vfio_irq_set {argsz, flags, index, start, count; u8 data[]} with one eventfd (s32) as data. */
    static final int IRQ_SET_ONE_FD_SIZE = 24;

    private Vfio() {
    }
}
