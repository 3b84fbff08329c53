package io.ustor.vhost.server;

import io.ustor.env.Mman;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.vhost.protocol.VhostProtocolException;

import java.lang.foreign.MemorySegment;

/**
 * The guest's memory as SET_MEM_TABLE described it: each region mmapped from its descriptor. Translates guest
 * physical addresses (descriptors) and front-end virtual addresses (ring addresses) to a region and an offset in
 * it, with bounds checks; nothing outside a region is ever reachable. Immutable once built; replaced as a whole
 * while the queues are stopped, then {@link #unmap}ped.
 */
public final class GuestMemory {
    private final int count;
    private final long[] gpa, size, uaddr;
    private final MemorySegment[] mappings, regions;

    private GuestMemory(int count) {
        this.count = count;
        gpa = new long[count];
        size = new long[count];
        uaddr = new long[count];
        mappings = new MemorySegment[count];
        regions = new MemorySegment[count];
    }

    /**
     * Maps {@code count} regions. {@code fds[i]} is region i's descriptor (closed here, mapped or not); the table
     * fields are validated: non-empty regions, no overflow, no overlapping guest ranges.
     */
    public static GuestMemory map(int count, long[] gpas, long[] sizes, long[] uaddrs, long[] mmapOffsets, int[] fds) {
        GuestMemory m = new GuestMemory(count);
        try {
            for (int i = 0; i < count; i++) {
                long s = sizes[i], off = mmapOffsets[i];
                if (s <= 0 || off < 0 || gpas[i] + s < gpas[i] || uaddrs[i] + s < uaddrs[i] || off + s < off) {
                    throw new VhostProtocolException("memory region " + i + ": bad size " + s + " / offset " + off);
                }
                for (int j = 0; j < i; j++) {
                    if (gpas[i] < gpas[j] + sizes[j] && gpas[j] < gpas[i] + s) {
                        throw new VhostProtocolException("memory regions " + j + " and " + i + " overlap");
                    }
                }
                // A file shorter than the region would fault (SIGBUS) on the first access past its end.
                Posix.FileStat st = Posix.fstat(fds[i]);
                if (st.isRegularFile() && st.size() < off + s) {
                    throw new VhostProtocolException("memory region " + i + ": file of " + st.size()
                            + " bytes is shorter than " + (off + s));
                }
                long length = align(off + s, Mman.PAGE_SIZE);
                MemorySegment map;
                try {
                    map = Mman.mmap(MemorySegment.NULL, length, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fds[i], 0);
                } catch (NativeException e) {
                    // hugetlbfs wants the length in whole huge pages
                    long blk = Posix.fstat(fds[i]).blockSize();
                    if (blk <= Mman.PAGE_SIZE) {
                        throw e;
                    }
                    length = align(off + s, blk);
                    map = Mman.mmap(MemorySegment.NULL, length, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fds[i], 0);
                }
                m.gpa[i] = gpas[i];
                m.size[i] = s;
                m.uaddr[i] = uaddrs[i];
                m.mappings[i] = map;
                m.regions[i] = map.asSlice(off, s);
            }
            return m;
        } catch (RuntimeException e) {
            m.unmap();
            throw e;
        } finally {
            for (int i = 0; i < count; i++) {
                Posix.closeRaw(fds[i]);
            }
        }
    }

    private static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    public int regionCount() {
        return count;
    }

    public MemorySegment region(int i) {
        return regions[i];
    }

    public long regionGpa(int i) {
        return gpa[i];
    }

    public long regionSize(int i) {
        return size[i];
    }

    public long regionUserAddress(int i) {
        return uaddr[i];
    }

    /** The region holding guest physical address {@code addr}, or -1. */
    public int regionOfGpa(long addr) {
        for (int i = 0; i < count; i++) {
            long d = addr - gpa[i];
            if (d >= 0 && d < size[i]) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The segment of {@code length} bytes at front-end virtual address {@code va}, which must lie in one region
     * (rings do), or null.
     */
    public MemorySegment userRange(long va, long length) {
        for (int i = 0; i < count; i++) {
            long d = va - uaddr[i];
            if (d >= 0 && d < size[i] && length <= size[i] - d) {
                return regions[i].asSlice(d, length);
            }
        }
        return null;
    }

    /** The guest physical address of front-end virtual address {@code va}, or -1 outside every region. */
    public long gpaOfUser(long va) {
        for (int i = 0; i < count; i++) {
            long d = va - uaddr[i];
            if (d >= 0 && d < size[i]) {
                return gpa[i] + d;
            }
        }
        return -1;
    }

    /** Unmaps every region. Only after every queue that used this table stopped. */
    public void unmap() {
        for (int i = 0; i < count; i++) {
            if (mappings[i] != null) {
                Mman.munmap(mappings[i]);
                mappings[i] = null;
                regions[i] = null;
            }
        }
    }
}
