package io.ustor.vhost.client;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.IoType;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaRegion;
import io.ustor.vhost.protocol.VhostUserRequest;

import java.util.ArrayList;
import java.util.List;

/**
 * The process's DMA memory regions given to the back end as more guest memory (as SPDK's virtio-user shares its
 * hugepage memory), so a read or write whose one buffer lies in a region goes by its guest address, with no copy
 * through the slot's bounce buffer. Only regions backed by a file descriptor (hugetlbfs page files) can be shared;
 * regions added after the client attached are not (their buffers still bounce). Immutable.
 */
final class DirectRegions {
    /** Regions share guest physical space with the rings' memfd; each starts on a 1 GiB boundary past the last. */
    private static final long GPA_ALIGN = 1L << 30;
    /** Set {@code -Dustor.vhost.client.shareDmaMemory=false} to keep every buffer in the bounce buffers. */
    static final boolean SHARE_BY_DEFAULT = !"false".equals(System.getProperty("ustor.vhost.client.shareDmaMemory"));

    static final DirectRegions NONE = new DirectRegions(List.of(), 0);

    private final DmaRegion[] regions;
    private final long[] vaddr, size, gpa;

    private DirectRegions(List<DmaRegion> shared, long firstGpa) {
        int n = shared.size();
        regions = shared.toArray(new DmaRegion[0]);
        vaddr = new long[n];
        size = new long[n];
        gpa = new long[n];
        long next = align(firstGpa, GPA_ALIGN);
        for (int i = 0; i < n; i++) {
            DmaRegion r = regions[i];
            vaddr[i] = r.vaddr();
            size[i] = r.size();
            gpa[i] = next;
            next = align(next + r.size(), GPA_ALIGN);
        }
    }

    /**
     * The regions of {@code memory} that have a descriptor, at most as many as the memory table has room for next
     * to the rings' region, placed in guest physical space at or above {@code firstGpa}.
     */
    static DirectRegions of(DmaMemory memory, long firstGpa) {
        List<DmaRegion> shared = new ArrayList<>();
        for (DmaRegion r : memory.regions()) {
            if (r.fd() >= 0 && shared.size() < VhostUserRequest.MAX_MEM_REGIONS - 1) {
                shared.add(r);
            }
        }
        return shared.isEmpty() ? NONE : new DirectRegions(shared, firstGpa);
    }

    /** The process-wide DMA memory's regions when sharing is on and that memory has huge pages; else none. */
    static DirectRegions ofProcess(long firstGpa) {
        if (!SHARE_BY_DEFAULT) {
            return NONE;
        }
        DmaMemory m = DmaMemory.get();
        return m.hugepages() ? of(m, firstGpa) : NONE;
    }

    private static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    int count() {
        return regions.length;
    }

    DmaRegion region(int i) {
        return regions[i];
    }

    long gpa(int i) {
        return gpa[i];
    }

    /** End of the highest guest physical address used (0 when there are no regions). */
    long endGpa() {
        int n = regions.length;
        return n == 0 ? 0 : gpa[n - 1] + size[n - 1];
    }

    /**
     * The guest physical address of {@code io}'s data when it is a read or write of one native buffer inside one
     * region, else -1 (the data goes through the bounce buffer). Allocation-free.
     */
    long gpaOf(BdevIo io) {
        if (regions.length == 0 || io.iovCount() != 1 || !io.iov(0).isNative()) {
            return -1;
        }
        IoType t = io.type();
        if (t != IoType.READ && t != IoType.WRITE) {
            return -1;
        }
        long a = io.iovAddress(0), n = io.iovLength(0);
        for (int i = 0; i < vaddr.length; i++) {
            long d = a - vaddr[i];
            if (d >= 0 && d < size[i] && n <= size[i] - d) {
                return gpa[i] + d;
            }
        }
        return -1;
    }
}
