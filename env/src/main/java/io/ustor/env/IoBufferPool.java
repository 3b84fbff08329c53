package io.ustor.env;

import java.lang.foreign.MemorySegment;

/**
 * Data buffers for I/O in two sizes, like SPDK's iobuf: a small class (default 8192 x 8 KiB) and a large class
 * (default 1024 x 132 KiB), carved from {@link DmaMemory} so a device can DMA to them when the memory is
 * DMA-capable. Reactors take buffers through their own {@link IoBufferCache} ({@link #createCache}), which keeps
 * a few buffers locally and moves them to and from the shared free lists in batches; the shared lists are
 * lock-free MPMC queues, so caches on different reactors never lock.
 *
 * <p>Every buffer is {@link IoBufferPoolOptions#alignment()}-aligned and its segment is exactly the class's buffer
 * size. Its IOVA comes from {@link #iova(MemorySegment)} by arithmetic.
 */
public final class IoBufferPool implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IoBufferPool.class.getName());

    private final IoBufferPoolOptions options;
    private final DmaMemory memory;
    final IoBufferClass small, large;
    private int smallCacheTotal, largeCacheTotal;
    private final java.util.List<IoBufferCache> caches = new java.util.ArrayList<>();
    private boolean closed;

    private IoBufferPool(IoBufferPoolOptions options, DmaMemory memory) {
        this.options = options;
        this.memory = memory;
        int a = options.alignment();
        int smallSize = (options.smallBufferSize() + a - 1) & -a;
        int largeSize = (options.largeBufferSize() + a - 1) & -a;
        this.small = new IoBufferClass("iobuf small", memory, smallSize, options.smallPoolCount(), a);
        try {
            this.large = new IoBufferClass("iobuf large", memory, largeSize, options.largePoolCount(), a);
        } catch (RuntimeException e) {
            small.backing.free();
            throw e;
        }
    }

    /** A pool in the process's {@link DmaMemory#get()}. */
    public static IoBufferPool create(IoBufferPoolOptions options) {
        return new IoBufferPool(options, DmaMemory.get());
    }

    /** A pool in {@code memory}. */
    public static IoBufferPool create(IoBufferPoolOptions options, DmaMemory memory) {
        return new IoBufferPool(options, memory);
    }

    /** A cache for one reactor with the pool's default cache sizes. */
    public IoBufferCache createCache(String name) {
        return createCache(name, options.smallCacheSize(), options.largeCacheSize());
    }

    /**
     * A cache for one reactor that holds up to {@code smallCacheSize} small and {@code largeCacheSize} large buffers.
     * Fails, as SPDK does, when all caches together could hold more buffers than the pool has: a reactor could then
     * wait forever for buffers parked in another's cache.
     */
    public synchronized IoBufferCache createCache(String name, int smallCacheSize, int largeCacheSize) {
        if (closed) {
            throw new IllegalStateException("iobuf pool is closed");
        }
        if (smallCacheSize < 0 || largeCacheSize < 0) {
            throw new IllegalArgumentException("cache sizes " + smallCacheSize + ", " + largeCacheSize);
        }
        if (smallCacheTotal + smallCacheSize > small.count || largeCacheTotal + largeCacheSize > large.count) {
            throw new IllegalStateException("iobuf cache " + name + ": caches would hold up to "
                    + (smallCacheTotal + smallCacheSize) + " small / " + (largeCacheTotal + largeCacheSize)
                    + " large buffers but the pool has " + small.count + " / " + large.count
                    + "; raise small_pool_count/large_pool_count or lower the cache sizes");
        }
        smallCacheTotal += smallCacheSize;
        largeCacheTotal += largeCacheSize;
        IoBufferCache c = new IoBufferCache(this, name, smallCacheSize, largeCacheSize);
        caches.add(c);
        return c;
    }

    /** The caches open now (for statistics: their counters are read racily, from any thread). */
    public synchronized java.util.List<IoBufferCache> caches() {
        return java.util.List.copyOf(caches);
    }

    synchronized void cacheClosed(IoBufferCache c, int smallCacheSize, int largeCacheSize) {
        caches.remove(c);
        smallCacheTotal -= smallCacheSize;
        largeCacheTotal -= largeCacheSize;
    }

    /** Bytes in a small buffer (the option rounded up to the alignment). */
    public int smallBufferSize() {
        return small.bufferSize;
    }

    /** Bytes in a large buffer: the longest {@link IoBufferCache#get} can serve. */
    public int largeBufferSize() {
        return large.bufferSize;
    }

    /** Small buffers in the pool. */
    public int smallCount() {
        return small.count;
    }

    /** Large buffers in the pool. */
    public int largeCount() {
        return large.count;
    }

    /** Small buffers in the shared free list now (not counting those cached by reactors). */
    public int smallAvailable() {
        return small.free.size();
    }

    /** Large buffers in the shared free list now. */
    public int largeAvailable() {
        return large.free.size();
    }

    /** The options the pool was made with. */
    public IoBufferPoolOptions options() {
        return options;
    }

    /** Whether a device may DMA to the buffers. */
    public boolean dmaCapable() {
        return small.backing.dmaCapable() && large.backing.dmaCapable();
    }

    /** Fails naming {@code who} when the buffers are not DMA-capable (see {@link DmaBuffer#requireDmaCapable}). */
    public void requireDmaCapable(String who) {
        small.backing.requireDmaCapable(who);
        large.backing.requireDmaCapable(who);
    }

    /** The memory the buffers live in. */
    public DmaMemory memory() {
        return memory;
    }

    /**
     * The IOVA of a byte in a pool buffer ({@code segment} may be a slice of one); allocation-free. Throws when the
     * segment is not in this pool.
     */
    public long iova(MemorySegment segment) {
        long addr = segment.address();
        long off = addr - small.base;
        if (off >= 0 && off < small.span) {
            return small.backing.iova(off);
        }
        off = addr - large.base;
        if (off >= 0 && off < large.span) {
            return large.backing.iova(off);
        }
        throw new IllegalArgumentException("0x" + Long.toHexString(addr) + " is not in this iobuf pool");
    }

    /**
     * Takes a buffer of at least {@code length} bytes straight from the shared free list, bypassing caches; null when
     * none is free. Any thread (control plane and tests; reactors use their cache).
     */
    public MemorySegment tryGet(long length) {
        IoBufferClass c = classFor(length);
        int idx = c.free.poll();
        if (idx < 0) {
            return null;
        }
        c.markOut(idx);
        return c.buffers[idx];
    }

    /** Returns a buffer straight to the shared free list. Any thread. */
    public void put(MemorySegment buffer) {
        long addr = buffer.address();
        IoBufferClass c = small;
        int idx = small.indexOf(addr);
        if (idx < 0) {
            c = large;
            idx = large.indexOf(addr);
        }
        if (idx < 0) {
            throw new IllegalArgumentException("0x" + Long.toHexString(addr) + " is not a buffer of this iobuf pool");
        }
        c.markFree(idx);
        c.release(idx);
    }

    IoBufferClass classFor(long length) {
        if (length < 0 || length > large.bufferSize) {
            throw new IllegalArgumentException("iobuf length " + length + " outside 0.." + large.bufferSize);
        }
        return length <= small.bufferSize ? small : large;
    }

    /**
     * Frees the pool's memory. Close every cache first; buffers still out must not be used afterwards (their memory
     * goes back to {@link DmaMemory}). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        int smallOut = small.count - small.free.size(), largeOut = large.count - large.free.size();
        if (smallOut != 0 || largeOut != 0) {
            LOG.log(System.Logger.Level.WARNING, "iobuf pool closed with {0} small and {1} large buffers not returned"
                    + " (still out or in open caches)", Integer.toString(smallOut), Integer.toString(largeOut));
        }
        small.backing.free();
        large.backing.free();
    }

    @Override
    public String toString() {
        return "IoBufferPool[small " + small.count + " x " + small.bufferSize + " (" + smallAvailable() + " free), large "
                + large.count + " x " + large.bufferSize + " (" + largeAvailable() + " free)"
                + (dmaCapable() ? "" : ", not DMA-capable") + "]";
    }
}
