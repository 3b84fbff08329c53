package io.ustor.nvme.model;

import io.ustor.env.DmaMemory;
import io.ustor.env.DmaRegion;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * What the model's "device" can reach by DMA: the process's address space (IOVA = VA) but only inside the
 * {@link DmaMemory} instances attached to it, as an IOMMU mapping them would allow. One segment spanning the whole
 * address space keeps every access allocation-free; {@link #reachable} is the IOMMU check done before any access.
 */
final class HostMemory {
    /** Every address of the process; accesses are checked with {@link #reachable} first. */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final CopyOnWriteArrayList<DmaMemory> attached = new CopyOnWriteArrayList<>();
    private volatile DmaMemory[] memories = new DmaMemory[0];

    void attach(DmaMemory memory) {
        if (attached.addIfAbsent(memory)) {
            memories = attached.toArray(new DmaMemory[0]);
        }
    }

    /** Whether {@code [addr, addr + length)} lies in one region of an attached memory; allocation-free. */
    boolean reachable(long addr, long length) {
        if (addr <= 0 || length <= 0) {
            return false;
        }
        for (DmaMemory m : memories) {
            DmaRegion r = m.regionOf(addr);
            if (r != null) {
                return addr - r.vaddr() + length <= r.size();
            }
        }
        return false;
    }

    static long getLong(long addr) {
        return ALL.get(JAVA_LONG_UNALIGNED, addr);
    }

    static int getInt(long addr) {
        return ALL.get(JAVA_INT, addr);
    }
}
