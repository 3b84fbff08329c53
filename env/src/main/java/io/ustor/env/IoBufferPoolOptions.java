package io.ustor.env;

/**
 * Sizes of an {@link IoBufferPool}; the names follow SPDK's {@code iobuf_set_options}
 * (small_pool_count, large_pool_count, small_bufsize, large_bufsize).
 *
 * @param smallBufferSize bytes per small buffer (default 8 KiB); rounded up to {@code alignment}
 * @param smallPoolCount  small buffers in the pool (default 8192)
 * @param largeBufferSize bytes per large buffer (default 132 KiB: a 128 KiB I/O plus room for metadata)
 * @param largePoolCount  large buffers in the pool (default 1024)
 * @param smallCacheSize  small buffers a per-reactor cache may hold (default 128)
 * @param largeCacheSize  large buffers a per-reactor cache may hold (default 16)
 * @param alignment       alignment of every buffer (a power of two, default 4096)
 */
public record IoBufferPoolOptions(int smallBufferSize, int smallPoolCount, int largeBufferSize, int largePoolCount,
                                  int smallCacheSize, int largeCacheSize, int alignment) {
    public IoBufferPoolOptions {
        if (smallBufferSize <= 0 || largeBufferSize <= 0 || smallBufferSize > largeBufferSize) {
            throw new IllegalArgumentException("buffer sizes: small " + smallBufferSize + ", large " + largeBufferSize
                    + " (both positive, small <= large)");
        }
        if (smallPoolCount <= 0 || largePoolCount <= 0 || smallPoolCount > (1 << 24) || largePoolCount > (1 << 24)) {
            throw new IllegalArgumentException("pool counts: small " + smallPoolCount + ", large " + largePoolCount);
        }
        if (smallCacheSize < 0 || largeCacheSize < 0) {
            throw new IllegalArgumentException("cache sizes: small " + smallCacheSize + ", large " + largeCacheSize);
        }
        if (alignment < 64 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " must be a power of two >= 64");
        }
    }

    /** SPDK's defaults: 8192 x 8 KiB small, 1024 x 132 KiB large, caches 128 and 16, 4 KiB aligned. */
    public static IoBufferPoolOptions defaults() {
        return new IoBufferPoolOptions(8192, 8192, 132 * 1024, 1024, 128, 16, 4096);
    }

    public IoBufferPoolOptions withSmall(int bufferSize, int poolCount) {
        return new IoBufferPoolOptions(bufferSize, poolCount, largeBufferSize, largePoolCount, smallCacheSize, largeCacheSize, alignment);
    }

    public IoBufferPoolOptions withLarge(int bufferSize, int poolCount) {
        return new IoBufferPoolOptions(smallBufferSize, smallPoolCount, bufferSize, poolCount, smallCacheSize, largeCacheSize, alignment);
    }

    public IoBufferPoolOptions withCacheSizes(int small, int large) {
        return new IoBufferPoolOptions(smallBufferSize, smallPoolCount, largeBufferSize, largePoolCount, small, large, alignment);
    }

    public IoBufferPoolOptions withAlignment(int bytes) {
        return new IoBufferPoolOptions(smallBufferSize, smallPoolCount, largeBufferSize, largePoolCount, smallCacheSize, largeCacheSize, bytes);
    }
}
