package io.ustor.env;

/** How a DMA buffer's bus address (IOVA) is formed. */
public enum IovaMode {
    /** IOVA = virtual address: for VFIO, which programs the IOMMU with that mapping. The default. */
    VA,
    /** IOVA = physical address, read from /proc/self/pagemap: for UIO (no IOMMU). Needs root. */
    PA
}
