package io.ustor.env;

import io.ustor.env.internal.MpmcIntQueue;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One size class of an {@link IoBufferPool}: the buffers (one DMA allocation cut into equal slots, with a segment
 * made for each slot up front so handing one out allocates nothing), the shared free list of slot indices, and a
 * per-slot state used to catch a buffer returned twice.
 */
final class IoBufferClass {
    private static final VarHandle STATE = MethodHandles.arrayElementVarHandle(byte[].class);
    private static final byte FREE = 0, OUT = 1;

    final String name;
    final int bufferSize;
    final int count;
    final DmaBuffer backing;
    final long base;
    final long span;
    final MemorySegment[] buffers;
    final MpmcIntQueue free;
    /** FREE or OUT per slot; opaque accesses, so the check costs a plain load and store. */
    private final byte[] state;

    IoBufferClass(String name, DmaMemory memory, int bufferSize, int count, int alignment) {
        this.name = name;
        this.bufferSize = bufferSize;
        this.count = count;
        this.span = (long) bufferSize * count;
        this.backing = memory.allocate(span, alignment);
        this.base = backing.address();
        this.buffers = new MemorySegment[count];
        this.state = new byte[count];
        // Twice the buffers: a slot a slow consumer has claimed but not yet released cannot stop a put.
        this.free = new MpmcIntQueue(2 * count);
        MemorySegment all = backing.segment();
        for (int i = 0; i < count; i++) {
            buffers[i] = all.asSlice((long) i * bufferSize, bufferSize);
            if (!free.offer(i)) {
                throw new IllegalStateException("free list smaller than the pool");
            }
        }
    }

    /** The slot whose buffer starts at {@code address}, or -1 when the address is outside this class. */
    int indexOf(long address) {
        long off = address - base;
        if (off < 0 || off >= span) {
            return -1;
        }
        int idx = (int) (off / bufferSize);
        if ((long) idx * bufferSize != off) {
            throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is inside a " + name
                    + " buffer, not at its start");
        }
        return idx;
    }

    void markOut(int idx) {
        STATE.setOpaque(state, idx, OUT);
    }

    void markFree(int idx) {
        if ((byte) STATE.getOpaque(state, idx) != OUT) {
            throw new IllegalStateException(name + " buffer 0x" + Long.toHexString(base + (long) idx * bufferSize)
                    + " returned twice (or never handed out)");
        }
        STATE.setOpaque(state, idx, FREE);
    }

    /** Back to the shared free list. */
    void release(int idx) {
        while (!free.offer(idx)) {
            // The tail wrapped onto a slot another thread has claimed and not yet released: that clears in moments.
            // Holding as many values as buffers exist, though, means a buffer came back twice.
            if (free.size() >= count) {
                throw new IllegalStateException(name + " free list overflow: more buffers returned than exist");
            }
            Thread.onSpinWait();
        }
    }
}
