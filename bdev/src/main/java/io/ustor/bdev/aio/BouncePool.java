package io.ustor.bdev.aio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A channel's aligned buffers for I/O whose own buffers O_DIRECT cannot take (misaligned, or too many pieces): the
 * data is copied through one. Allocated on first use (most users never need one), then reused; one owning thread.
 */
final class BouncePool {
    private static final System.Logger LOG = System.getLogger(BouncePool.class.getName());

    private final String owner;
    private final int count;
    private final long bufferBytes;
    private Arena arena;
    private MemorySegment[] buffers;
    private int[] free;
    private int freeCount;
    private long uses;

    BouncePool(String owner, int count, long bufferBytes) {
        this.owner = owner;
        this.count = count;
        this.bufferBytes = bufferBytes;
    }

    /** A free buffer's index, or -1 when all are in use. */
    int take() {
        if (buffers == null) {
            allocate();
        }
        if (freeCount == 0) {
            return -1;
        }
        uses++;
        return free[--freeCount];
    }

    void put(int index) {
        free[freeCount++] = index;
    }

    MemorySegment buffer(int index) {
        return buffers[index];
    }

    long bufferBytes() {
        return bufferBytes;
    }

    /** How many I/Os went through a bounce buffer. */
    long uses() {
        return uses;
    }

    private void allocate() {
        arena = Arena.ofShared();
        buffers = new MemorySegment[count];
        free = new int[count];
        MemorySegment all = arena.allocate(bufferBytes * count, 4096);
        for (int i = 0; i < count; i++) {
            buffers[i] = all.asSlice(bufferBytes * i, bufferBytes);
            free[i] = count - 1 - i;
        }
        freeCount = count;
        LOG.log(System.Logger.Level.INFO, "{0}: a caller passed a buffer O_DIRECT cannot take; bouncing such I/O through "
                + "{1} aligned buffers of {2} bytes", owner, Integer.toString(count), Long.toString(bufferBytes));
    }

    void close() {
        if (arena != null) {
            arena.close();
            arena = null;
        }
    }
}
