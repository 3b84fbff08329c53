package io.ustor.env;

/**
 * One mapping DMA buffers are carved from: where it is (virtual address, size), how a device reaches it (IOVA),
 * and what backs it. A VFIO driver maps each region into the IOMMU ({@code VFIO_IOMMU_MAP_DMA} with
 * {@link #vaddr()}, {@link #iova()}, {@link #size()}) as {@link DmaRegionListener} reports it.
 *
 * <p>{@link #iova(long)} is arithmetic on fields and allocates nothing: IOVA = VA under {@link IovaMode#VA}, and a
 * per-page table lookup under {@link IovaMode#PA} (pages are physically contiguous only within themselves).
 */
public final class DmaRegion {
    private final int index;
    private final long vaddr;
    private final long size;
    private final long pageSize;
    private final int pageShift;
    private final boolean hugepage;
    private final String backing;
    private final int fd;
    /** Physical address of each page under PA mode; null under VA mode. */
    private final long[] physicalPages;

    DmaRegion(int index, long vaddr, long size, long pageSize, boolean hugepage, String backing, int fd, long[] physicalPages) {
        this.index = index;
        this.vaddr = vaddr;
        this.size = size;
        this.pageSize = pageSize;
        this.pageShift = Long.numberOfTrailingZeros(pageSize);
        this.hugepage = hugepage;
        this.backing = backing;
        this.fd = fd;
        this.physicalPages = physicalPages;
    }

    /** Position of the region in its {@link DmaMemory}, in the order regions were added. */
    public int index() {
        return index;
    }

    /** Virtual start address. */
    public long vaddr() {
        return vaddr;
    }

    /** Bus address of the first byte. */
    public long iova() {
        return iova(0);
    }

    /** Bus address of the byte at {@code offset} from the region start; allocation-free. */
    public long iova(long offset) {
        if (physicalPages == null) {
            return vaddr + offset;
        }
        return physicalPages[(int) (offset >>> pageShift)] + (offset & (pageSize - 1));
    }

    /** Whether the IOVAs of the whole region are one contiguous range (always under VA mode). */
    public boolean iovaContiguous() {
        if (physicalPages == null) {
            return true;
        }
        for (int i = 1; i < physicalPages.length; i++) {
            if (physicalPages[i] != physicalPages[i - 1] + pageSize) {
                return false;
            }
        }
        return true;
    }

    /** Bytes in the region (a multiple of {@link #pageSize()}). */
    public long size() {
        return size;
    }

    /** Page size backing the region: 2 MiB for huge pages, 4 KiB otherwise. */
    public long pageSize() {
        return pageSize;
    }

    /** Backed by huge pages (and so DMA-capable). */
    public boolean hugepage() {
        return hugepage;
    }

    /** Whether a device may DMA to this region: only huge page memory is. */
    public boolean dmaCapable() {
        return hugepage;
    }

    /** What backs it, e.g. "hugetlbfs /dev/hugepages/ustor_123_map_0", "anonymous MAP_HUGETLB", "anonymous 4k". */
    public String backing() {
        return backing;
    }

    /** The hugetlbfs file's descriptor (for sharing the memory with another process), or -1. */
    public int fd() {
        return fd;
    }

    /** Whether {@code address} lies inside the region. */
    public boolean contains(long address) {
        return address - vaddr >= 0 && address - vaddr < size;
    }

    @Override
    public String toString() {
        return "DmaRegion[" + index + " vaddr 0x" + Long.toHexString(vaddr) + " iova 0x" + Long.toHexString(iova())
                + " size " + size + " page " + pageSize + " " + backing + "]";
    }
}
