package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Virtual to physical address translation through /proc/self/pagemap (one 64-bit entry per 4 KiB virtual page:
 * bit 63 present, bits 0-54 the page frame number). The kernel shows real frame numbers only to a process with
 * CAP_SYS_ADMIN; to others the PFN reads as 0, and this class then fails saying so rather than returning 0.
 * Physical addresses are for UIO, where the device sees them directly; under VFIO use virtual addresses as IOVAs.
 * Control plane: opens the file for each call.
 */
public final class Pagemap {
    private static final String PATH = "/proc/self/pagemap";
    private static final long PRESENT = 1L << 63;
    private static final long PFN_MASK = (1L << 55) - 1;

    private Pagemap() {
    }

    /** The physical address behind {@code vaddr}; the page must be resident (touched and locked). */
    public static long physicalAddress(long vaddr) {
        return physicalAddresses(vaddr, Mman.PAGE_SIZE, 1)[0];
    }

    /**
     * Physical addresses of {@code count} pages of {@code pageSize} bytes starting at {@code vaddr}: element i is the
     * physical address of {@code vaddr + i * pageSize}. For huge pages this reads one entry per huge page, since a
     * huge page is physically contiguous.
     */
    public static long[] physicalAddresses(long vaddr, long pageSize, int count) {
        if (pageSize % Mman.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("page size " + pageSize + " is not a multiple of 4096");
        }
        long[] out = new long[count];
        int fd = Posix.open(PATH, Posix.O_RDONLY | Posix.O_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment entry = arena.allocate(JAVA_LONG);
            for (int i = 0; i < count; i++) {
                long va = vaddr + i * pageSize;
                Posix.preadFully(fd, entry, (va / Mman.PAGE_SIZE) * 8);
                long e = entry.get(JAVA_LONG, 0);
                if ((e & PRESENT) == 0) {
                    throw new IllegalStateException(PATH + ": page at 0x" + Long.toHexString(va)
                            + " is not present (never touched, or swapped out: DMA memory must be populated and locked)");
                }
                long pfn = e & PFN_MASK;
                if (pfn == 0) {
                    throw new IllegalStateException(PATH + " shows page frame 0 for 0x" + Long.toHexString(va)
                            + ": physical addresses need root (CAP_SYS_ADMIN). Run as root, or use IOVA mode VA with VFIO");
                }
                out[i] = pfn * Mman.PAGE_SIZE + (va % Mman.PAGE_SIZE);
            }
        } finally {
            Posix.closeRaw(fd);
        }
        return out;
    }
}
