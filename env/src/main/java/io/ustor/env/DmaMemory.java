package io.ustor.env;

import io.ustor.env.internal.ExtentAllocator;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The process's DMA memory: regions of 2 MiB huge pages (hugetlbfs page files when a hugetlbfs is mounted, else
 * anonymous MAP_HUGETLB mappings) that buffers are carved from, each with an IOVA found by arithmetic.
 *
 * <p>Without huge pages (none reserved, or {@link DmaOptions#noHuge()}) it uses ordinary anonymous memory, populated
 * and mlock'ed, which a device must not DMA to (its pages may move and are not contiguous): {@link #dmaCapable()}
 * and {@link DmaBuffer#dmaCapable()} are then false, drivers refuse it through {@link DmaBuffer#requireDmaCapable},
 * and the reason is logged once per process. When huge pages run out while growing on demand, further regions are
 * ordinary memory too, logged once per memory.
 *
 * <p>Memory is reserved up front ({@link DmaOptions#memorySize()}, like SPDK's {@code -s}; allocations past it fail)
 * or grows on demand. Regions are kept until {@link #close()}. All methods are thread-safe; {@link #allocate} and
 * {@link DmaBuffer#free} are control plane (they lock and may map memory), {@link #iova(long)} is allocation-free.
 */
public final class DmaMemory implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DmaMemory.class.getName());
    private static final AtomicBoolean NOT_DMA_CAPABLE_LOGGED = new AtomicBoolean();
    private static final long HUGE = HugePages.SIZE_2M;
    private static final long SMALL = Mman.PAGE_SIZE;

    private static DmaMemory global;

    private final DmaOptions options;
    private final String name;
    /** Regions are mapped into this shared arena, so access after close fails cleanly instead of crashing. */
    private final Arena arena = Arena.ofShared();
    private final Object lock = new Object();
    private final List<Region> regions = new ArrayList<>();
    private final List<DmaRegionListener> listeners = new ArrayList<>();
    /** Regions by address, for {@link #iova(long)} without locking; replaced on every change. */
    private volatile DmaRegion[] byAddress = new DmaRegion[0];
    /** Huge pages are in use (chosen at open). */
    private final boolean huge;
    /** Page files go here when huge and a hugetlbfs is mounted, else null. */
    private final Path hugetlbfsDir;
    /** Why memory is not DMA-capable; null while it is. */
    private volatile String notDmaCapableReason;
    private boolean exhaustionLogged;
    private boolean closed;
    private boolean processWide;
    private long reservedBytes, usedBytes, peakUsedBytes, allocations, allocationFailures;
    private int fileCounter;

    /** One mapping and its allocator. */
    private record Region(DmaRegion info, MemorySegment segment, ExtentAllocator allocator) {
    }

    private DmaMemory(DmaOptions options) {
        this.options = options;
        this.name = "DmaMemory@" + Integer.toHexString(System.identityHashCode(this));
        String reason = null;
        Path dir = null;
        if (options.noHuge()) {
            reason = "huge pages disabled (--no-huge)";
        } else {
            if (options.hugeDir() != null && !HugePages.isHugetlbfs2M(options.hugeDir())) {
                throw new IllegalArgumentException("huge dir " + options.hugeDir()
                        + " is not a hugetlbfs mount with 2 MiB pages (mounted: " + HugePages.hugetlbfsMounts2M()
                        + "); mount one with: mount -t hugetlbfs -o pagesize=2M nodev " + options.hugeDir());
            }
            HugePages.Status status = HugePages.status2M();
            long neededPages = options.memorySize() > 0 ? roundUp(options.memorySize(), HUGE) / HUGE : 1;
            if (status.available() < neededPages) {
                reason = "not enough free 2 MiB huge pages (" + status + "; needed " + neededPages + ")";
            } else if (options.hugeDir() != null) {
                dir = options.hugeDir().toAbsolutePath().normalize();
            } else {
                List<Path> mounts = HugePages.hugetlbfsMounts2M();
                dir = mounts.stream().filter(Files::isWritable).findFirst().orElse(null);
            }
        }
        this.hugetlbfsDir = dir;
        this.huge = reason == null;
        if (options.iovaMode() == IovaMode.PA) {
            checkPagemapReadable();
        }
        if (reason != null) {
            markNotDmaCapable(reason);
        }
        if (options.memorySize() > 0) {
            synchronized (lock) {
                Region r = map(roundUp(options.memorySize(), huge ? HUGE : SMALL), huge);
                if (r == null && huge) {
                    markNotDmaCapable("could not map " + options.memorySize() + " bytes of huge pages ("
                            + HugePages.status2M() + ")");
                    r = map(roundUp(options.memorySize(), SMALL), false);
                }
                if (r == null) {
                    throw new IllegalStateException("could not reserve " + options.memorySize() + " bytes of memory");
                }
                addRegion(r);
            }
        }
    }

    /** A new, independent memory (tests, or a daemon that configures its own). Close it to unmap everything. */
    public static DmaMemory open(DmaOptions options) {
        return new DmaMemory(options);
    }

    /**
     * The process-wide memory, opened on first use with {@link #configure}'d options, or else
     * {@link DmaOptions#fromSystemProperties()}. It is never closed.
     */
    public static synchronized DmaMemory get() {
        if (global == null) {
            global = new DmaMemory(DmaOptions.fromSystemProperties());
            global.processWide = true;
        }
        return global;
    }

    /**
     * Opens the process-wide memory with {@code options} (the daemon does this from its command line before anything
     * allocates). Fails if it was opened already with different options.
     */
    public static synchronized DmaMemory configure(DmaOptions options) {
        if (global != null) {
            if (!global.options.equals(options)) {
                throw new IllegalStateException("process DMA memory is already open with " + global.options
                        + "; configure it before first use");
            }
            return global;
        }
        global = new DmaMemory(options);
        global.processWide = true;
        return global;
    }

    /** A buffer of {@code size} bytes aligned to 4 KiB. */
    public DmaBuffer allocate(long size) {
        return allocate(size, SMALL);
    }

    /**
     * A buffer of {@code size} bytes whose address is a multiple of {@code alignment} (a power of two). Grows the
     * memory when on demand; fails with an explanation when the reserved memory is used up or cannot grow.
     */
    public DmaBuffer allocate(long size, long alignment) {
        if (size <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("allocate(" + size + ", alignment " + alignment + ")");
        }
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException(name + " is closed");
            }
            for (Region r : regions) {
                DmaBuffer b = tryAllocate(r, size, alignment);
                if (b != null) {
                    return b;
                }
            }
            if (options.memorySize() > 0) {
                allocationFailures++;
                throw new IllegalStateException("DMA memory exhausted: " + size + " bytes (alignment " + alignment
                        + ") do not fit; " + usedBytes + " of " + reservedBytes + " reserved bytes in use"
                        + " (reserve more with the memory size option, SPDK -s)");
            }
            Region r = grow(size, alignment);
            DmaBuffer b = tryAllocate(r, size, alignment);
            if (b == null) {
                allocationFailures++;
                throw new IllegalStateException("fresh region " + r.info + " cannot fit " + size + " bytes aligned to " + alignment);
            }
            return b;
        }
    }

    /** Whether all memory is DMA-capable (huge pages, none fallen back to ordinary memory). */
    public boolean dmaCapable() {
        return notDmaCapableReason == null;
    }

    /** Fails naming {@code who} and the reason when this memory is not (all) DMA-capable. */
    public void requireDmaCapable(String who) {
        String reason = notDmaCapableReason;
        if (reason != null) {
            throw new IllegalStateException(who + " needs DMA-capable memory: " + reason);
        }
    }

    /** Why memory is not DMA-capable, with the fix; null when it is. */
    public String notDmaCapableReason() {
        return notDmaCapableReason;
    }

    /** Whether huge pages were chosen at open. */
    public boolean hugepages() {
        return huge;
    }

    /** The hugetlbfs mount page files live in, or null (anonymous mappings). */
    public Path hugetlbfsDir() {
        return hugetlbfsDir;
    }

    /** The options this memory was opened with. */
    public DmaOptions options() {
        return options;
    }

    /** How IOVAs are formed. */
    public IovaMode iovaMode() {
        return options.iovaMode();
    }

    /** The regions, in the order they were added. */
    public List<DmaRegion> regions() {
        synchronized (lock) {
            List<DmaRegion> out = new ArrayList<>(regions.size());
            for (Region r : regions) {
                out.add(r.info);
            }
            return out;
        }
    }

    /** The region holding {@code vaddr}, or null; allocation-free. */
    public DmaRegion regionOf(long vaddr) {
        DmaRegion[] rs = byAddress;
        int lo = 0, hi = rs.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            DmaRegion r = rs[mid];
            if (vaddr < r.vaddr()) {
                hi = mid - 1;
            } else if (vaddr - r.vaddr() >= r.size()) {
                lo = mid + 1;
            } else {
                return r;
            }
        }
        return null;
    }

    /** The IOVA of any address inside this memory (a buffer or a slice of one), or -1; allocation-free. */
    public long iova(long vaddr) {
        DmaRegion r = regionOf(vaddr);
        return r == null ? -1 : r.iova(vaddr - r.vaddr());
    }

    /** The IOVA of the first byte of {@code segment}, or -1 when it is not in this memory; allocation-free. */
    public long iova(MemorySegment segment) {
        return iova(segment.address());
    }

    /** Registers a listener and tells it about every existing region. */
    public void addRegionListener(DmaRegionListener listener) {
        synchronized (lock) {
            for (Region r : regions) {
                listener.regionAdded(r.info);
            }
            listeners.add(listener);
        }
    }

    /** Unregisters a listener (it is not told about removals). */
    public void removeRegionListener(DmaRegionListener listener) {
        synchronized (lock) {
            listeners.remove(listener);
        }
    }

    /** Bytes mapped into regions. */
    public long reservedBytes() {
        synchronized (lock) {
            return reservedBytes;
        }
    }

    /** Bytes handed out in live buffers (sizes rounded up to 64). */
    public long usedBytes() {
        synchronized (lock) {
            return usedBytes;
        }
    }

    /** The most bytes ever in use at once. */
    public long peakUsedBytes() {
        synchronized (lock) {
            return peakUsedBytes;
        }
    }

    /** Live buffers. */
    public long allocations() {
        synchronized (lock) {
            return allocations;
        }
    }

    /** Allocations that failed. */
    public long allocationFailures() {
        synchronized (lock) {
            return allocationFailures;
        }
    }

    /**
     * Unmaps every region (buffers still out become inaccessible: using them fails with IllegalStateException).
     * Not for the process-wide memory from {@link #get()}. Idempotent.
     */
    @Override
    public void close() {
        if (processWide) {
            throw new IllegalStateException("the process-wide DMA memory is never closed");
        }
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (allocations > 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: closing with {1} buffers ({2} bytes) still allocated",
                        name, Long.toString(allocations), Long.toString(usedBytes));
            }
            for (Region r : regions) {
                for (DmaRegionListener l : listeners) {
                    l.regionRemoved(r.info);
                }
            }
            regions.clear();
            byAddress = new DmaRegion[0];
            reservedBytes = 0;
        }
        arena.close();
    }

    @Override
    public String toString() {
        synchronized (lock) {
            return name + "[" + (huge ? (hugetlbfsDir != null ? "hugetlbfs " + hugetlbfsDir : "MAP_HUGETLB") : "ordinary memory")
                    + ", " + options.iovaMode() + ", regions " + regions.size() + ", reserved " + reservedBytes
                    + ", used " + usedBytes + (dmaCapable() ? "" : ", not DMA-capable") + "]";
        }
    }

    void release(DmaRegion region, long offset) {
        synchronized (lock) {
            if (closed) {
                return;
            }
            Region r = regions.get(region.index());
            usedBytes -= r.allocator.free(offset);
            allocations--;
        }
    }

    private DmaBuffer tryAllocate(Region r, long size, long alignment) {
        long off = r.allocator.allocate(size, alignment);
        if (off < 0) {
            return null;
        }
        usedBytes += ExtentAllocator.roundSize(size);
        peakUsedBytes = Math.max(peakUsedBytes, usedBytes);
        allocations++;
        return new DmaBuffer(this, r.info, r.segment, off, size);
    }

    /** Adds a region big enough for one allocation (lock held). */
    private Region grow(long size, long alignment) {
        long pageAlign = huge ? HUGE : SMALL;
        long need = roundUp(ExtentAllocator.roundSize(size) + (alignment > pageAlign ? alignment : 0), HUGE);
        long chunk = Math.max(need, roundUp(options.growthChunk(), HUGE));
        Region r = null;
        if (huge) {
            r = map(chunk, true);
            if (r == null && chunk > need) {
                r = map(need, true);
            }
            if (r == null) {
                String why = "huge pages ran out while growing (" + HugePages.status2M() + "); later buffers are ordinary memory";
                if (!exhaustionLogged) {
                    exhaustionLogged = true;
                    LOG.log(System.Logger.Level.WARNING, "{0}: {1}. Reserve more huge pages (/proc/sys/vm/nr_hugepages)"
                            + " or set the memory size up front", name, why);
                }
                notDmaCapableReason = why + ". Reserve more: echo N > /proc/sys/vm/nr_hugepages";
            }
        }
        if (r == null) {
            r = map(chunk, false);
        }
        if (r == null) {
            allocationFailures++;
            throw new IllegalStateException("could not map " + chunk + " bytes for DMA memory");
        }
        addRegion(r);
        return r;
    }

    private void addRegion(Region r) {
        regions.add(r);
        reservedBytes += r.info.size();
        DmaRegion[] sorted = Arrays.copyOf(byAddress, byAddress.length + 1);
        sorted[sorted.length - 1] = r.info;
        Arrays.sort(sorted, Comparator.comparingLong(DmaRegion::vaddr));
        byAddress = sorted;
        int told = 0;
        try {
            for (DmaRegionListener l : listeners) {
                l.regionAdded(r.info);
                told++;
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < told; i++) {
                listeners.get(i).regionRemoved(r.info);
            }
            // The region stays mapped (it is in the arena) but is withdrawn from use.
            regions.set(regions.size() - 1, new Region(r.info, r.segment, exhausted(r)));
            throw e;
        }
    }

    /** An allocator with its whole range taken, for a region a listener refused. */
    private static ExtentAllocator exhausted(Region r) {
        ExtentAllocator a = new ExtentAllocator(r.info.vaddr(), r.info.size(), 0);
        a.allocate(r.info.size(), ExtentAllocator.GRANULE);
        return a;
    }

    /** Maps one region; null when huge pages are wanted but cannot be had. Lock held. */
    private Region map(long bytes, boolean hugePages) {
        MemorySegment m;
        int fd = -1;
        String backing;
        if (hugePages) {
            try {
                if (hugetlbfsDir != null) {
                    Path file = hugetlbfsDir.resolve(options.filePrefix() + "_" + ProcessHandle.current().pid() + "_map_" + fileCounter++);
                    fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CREAT | Posix.O_EXCL | Posix.O_CLOEXEC, 0600);
                    try {
                        Posix.ftruncate(fd, bytes);
                        m = Mman.mmap(MemorySegment.NULL, bytes, Mman.PROT_READ | Mman.PROT_WRITE,
                                Mman.MAP_SHARED | Mman.MAP_POPULATE, fd, 0);
                    } finally {
                        Posix.unlink(file.toString()); // nothing to clean up if the process dies
                    }
                    backing = "hugetlbfs " + file;
                } else {
                    m = Mman.mmapAnonymous(bytes, Mman.MAP_HUGETLB | Mman.MAP_HUGE_2MB | Mman.MAP_POPULATE);
                    backing = "anonymous MAP_HUGETLB";
                }
            } catch (NativeException e) {
                if (fd >= 0) {
                    Posix.closeRaw(fd);
                }
                LOG.log(System.Logger.Level.DEBUG, "{0}: huge page mapping of {1} bytes failed: {2}", name, Long.toString(bytes), e.getMessage());
                return null;
            }
        } else {
            m = mapHugeAligned(bytes);
            boolean thp = adviseHugePages(m);
            backing = thp ? "anonymous 4k, transparent huge pages advised" : "anonymous 4k";
            try {
                Mman.mlock(m); // also faults every page in: with the advice above, as 2 MiB pages where the kernel has them
                backing += " locked";
            } catch (NativeException e) {
                LOG.log(System.Logger.Level.WARNING, "{0}: cannot lock {1} bytes of fallback memory: {2}", name, Long.toString(bytes), e.getMessage());
                populate(m);
            }
        }
        long vaddr = m.address();
        long pageSize = hugePages ? HUGE : SMALL;
        try {
            Mman.madvise(m, Mman.MADV_DONTFORK); // a child's copy-on-write must not move pages a device writes to
        } catch (NativeException e) {
            LOG.log(System.Logger.Level.DEBUG, "{0}: {1}", name, e.getMessage());
        }
        long[] phys = null;
        if (options.iovaMode() == IovaMode.PA) {
            try {
                phys = Pagemap.physicalAddresses(vaddr, pageSize, Math.toIntExact(bytes / pageSize));
            } catch (RuntimeException e) {
                Mman.munmap(m);
                if (fd >= 0) {
                    Posix.closeRaw(fd);
                }
                throw e;
            }
        }
        int regionFd = fd;
        MemorySegment scoped = m.reinterpret(bytes, arena, s -> {
            Mman.munmap(MemorySegment.ofAddress(vaddr).reinterpret(bytes));
            if (regionFd >= 0) {
                Posix.closeRaw(regionFd);
            }
        });
        DmaRegion info = new DmaRegion(regions.size(), vaddr, bytes, pageSize, hugePages, backing, fd, phys);
        ExtentAllocator allocator = new ExtentAllocator(vaddr, bytes, phys != null ? pageSize : 0);
        LOG.log(System.Logger.Level.DEBUG, "{0}: added {1}", name, info);
        return new Region(info, scoped, allocator);
    }

    /**
     * An anonymous mapping of {@code bytes} starting on a 2 MiB boundary, not yet populated: only 2 MiB-aligned ranges
     * can be backed by transparent huge pages, and pages faulted in before the advice would be 4 KiB ones. Maps 2 MiB
     * more than needed and unmaps the unaligned head and the tail.
     */
    private static MemorySegment mapHugeAligned(long bytes) {
        MemorySegment raw = Mman.mmapAnonymous(bytes + HUGE, 0);
        long start = roundUp(raw.address(), HUGE);
        long head = start - raw.address();
        long tail = HUGE - head;
        if (head > 0) {
            Mman.munmap(raw.asSlice(0, head));
        }
        if (tail > 0) {
            Mman.munmap(raw.asSlice(head + bytes, tail));
        }
        return MemorySegment.ofAddress(start).reinterpret(bytes);
    }

    /**
     * madvise(MADV_HUGEPAGE) on fallback memory: with transparent huge pages in "madvise" mode (a common default) the
     * kernel then backs it with 2 MiB pages when it has them, which takes the page-table walk out of random access
     * across a large RAM disk (a malloc bdev). Still not DMA-capable: such pages can be split or moved. False when
     * the kernel has no THP or refuses.
     */
    private boolean adviseHugePages(MemorySegment m) {
        try {
            Mman.madvise(m, Mman.MADV_HUGEPAGE);
            return true;
        } catch (NativeException e) {
            LOG.log(System.Logger.Level.DEBUG, "{0}: no transparent huge pages for fallback memory: {1}", name, e.getMessage());
            return false;
        }
    }

    /** Faults the pages in up front (what MAP_POPULATE did) when mlock could not; older kernels lack the advice. */
    private static void populate(MemorySegment m) {
        try {
            Mman.madvise(m, Mman.MADV_POPULATE_WRITE);
        } catch (NativeException e) {
            // Linux < 5.14: pages fault in on first use instead.
        }
    }

    private void markNotDmaCapable(String why) {
        String fix = "ordinary memory is not DMA-capable; reserve 2 MiB huge pages (echo N > /proc/sys/vm/nr_hugepages,"
                + " N = MiB / 2, as root) and optionally mount a hugetlbfs (mount -t hugetlbfs nodev /dev/hugepages)";
        notDmaCapableReason = why + ": " + fix;
        if (NOT_DMA_CAPABLE_LOGGED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "DMA memory uses ordinary locked memory because {0}. It is NOT"
                    + " DMA-capable: NVMe over VFIO/UIO will refuse it. To fix, {1}", why,
                    "reserve 2 MiB huge pages (echo N > /proc/sys/vm/nr_hugepages as root)");
        }
    }

    private static void checkPagemapReadable() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment probe = a.allocate(SMALL, SMALL);
            probe.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1);
            Pagemap.physicalAddress(probe.address());
        } catch (IllegalStateException e) {
            throw new IllegalStateException("IOVA mode PA is impossible: " + e.getMessage(), e);
        }
    }

    private static long roundUp(long v, long align) {
        return (v + align - 1) / align * align;
    }
}
