package io.ustor.env.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocator of aligned extents inside one address range, with coalescing on free. Control plane: it
 * allocates map entries and is not thread-safe (its owner locks).
 *
 * <p>Alignment is of the absolute address ({@code base + offset}), so it holds whatever the range's own alignment.
 * With a {@code noCrossSize} (a page size) an extent no larger than a page never straddles a page boundary: that
 * keeps a buffer physically contiguous when the range is made of pages that are each contiguous but not adjacent.
 */
public final class ExtentAllocator {
    /** Sizes are rounded up to this, and alignments are at least this (a cache line). */
    public static final long GRANULE = 64;

    private final long base;
    private final long size;
    private final long noCrossSize;
    private final TreeMap<Long, Long> free = new TreeMap<>();
    private final Map<Long, Long> used = new HashMap<>();
    private long usedBytes;

    /**
     * @param base        absolute start address of the range
     * @param size        bytes in the range
     * @param noCrossSize page size whose boundaries small extents must not cross, or 0
     */
    public ExtentAllocator(long base, long size, long noCrossSize) {
        if (size <= 0 || (noCrossSize != 0 && Long.bitCount(noCrossSize) != 1)) {
            throw new IllegalArgumentException("size " + size + ", noCrossSize " + noCrossSize);
        }
        this.base = base;
        this.size = size;
        this.noCrossSize = noCrossSize;
        free.put(0L, size);
    }

    /** The size an allocation of {@code size} bytes really takes. */
    public static long roundSize(long size) {
        return (size + GRANULE - 1) & -GRANULE;
    }

    /**
     * Allocates {@code size} bytes (rounded up to {@link #GRANULE}) aligned to {@code alignment} (a power of two).
     * Returns the offset from the range start, or -1 when no free extent fits.
     */
    public long allocate(long size, long alignment) {
        if (size <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("size " + size + ", alignment " + alignment);
        }
        long len = roundSize(size);
        long align = Math.max(alignment, GRANULE);
        boolean keepInPage = noCrossSize != 0 && len <= noCrossSize;
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            long extentStart = base + e.getKey();
            long extentEnd = extentStart + e.getValue();
            long a = alignUp(extentStart, align);
            if (keepInPage && (a / noCrossSize) != ((a + len - 1) / noCrossSize)) {
                a = alignUp(a, noCrossSize);
            }
            if (a + len <= extentEnd) {
                free.remove(e.getKey());
                if (a > extentStart) {
                    free.put(extentStart - base, a - extentStart);
                }
                if (a + len < extentEnd) {
                    free.put(a + len - base, extentEnd - (a + len));
                }
                used.put(a - base, len);
                usedBytes += len;
                return a - base;
            }
        }
        return -1;
    }

    /** Frees the extent that starts at {@code offset}; returns its length. Throws when nothing was allocated there. */
    public long free(long offset) {
        Long len = used.remove(offset);
        if (len == null) {
            throw new IllegalStateException("no allocation at offset " + offset + " (double free?)");
        }
        usedBytes -= len;
        long start = offset, end = offset + len;
        Map.Entry<Long, Long> before = free.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            start = before.getKey();
            free.remove(start);
        }
        Long afterLen = free.get(end);
        if (afterLen != null) {
            free.remove(end);
            end += afterLen;
        }
        free.put(start, end - start);
        return len;
    }

    /** Bytes handed out (rounded sizes). */
    public long usedBytes() {
        return usedBytes;
    }

    /** Bytes in the range. */
    public long size() {
        return size;
    }

    /** Number of live allocations. */
    public int allocations() {
        return used.size();
    }

    /** Number of free extents (1 when nothing is allocated: fragmentation shows as more). */
    public int freeExtents() {
        return free.size();
    }

    /** The largest free extent. */
    public long largestFreeExtent() {
        long max = 0;
        for (long len : free.values()) {
            max = Math.max(max, len);
        }
        return max;
    }

    private static long alignUp(long v, long align) {
        return (v + align - 1) & -align;
    }
}
