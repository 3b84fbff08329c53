package io.ustor.env.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded multi-producer multi-consumer queue of non-negative ints (buffer indices), allocation-free: D. Vyukov's
 * array queue, where each slot carries a sequence number that says whose turn it is. A producer claims a slot by
 * CAS on the tail, writes the value, then publishes with a release store of the slot's sequence; a consumer does
 * the mirror image on the head.
 *
 * <p>Not strictly lock-free: a producer stalled between its CAS and its publish hides that slot (and the ones after
 * it) from consumers until it resumes, so {@link #poll} may report empty; likewise a consumer stalled between its
 * CAS and its release keeps its slot, so {@link #offer} may report full once the tail wraps onto it, even though
 * fewer than {@link #capacity()} values are queued. Size the queue with headroom and retry an offer that cannot
 * logically fail.
 */
abstract class MpmcIntQueuePad0 {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

abstract class MpmcIntQueueTail extends MpmcIntQueuePad0 {
    volatile long tail;
}

abstract class MpmcIntQueuePad1 extends MpmcIntQueueTail {
    long p10_, p11_, p12_, p13_, p14_, p15_, p16_, p17_, p18_, p19_, p1a_, p1b_, p1c_, p1d_, p1e_, p1f_;
}

abstract class MpmcIntQueueHead extends MpmcIntQueuePad1 {
    volatile long head;
}

abstract class MpmcIntQueuePad2 extends MpmcIntQueueHead {
    long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p2a, p2b, p2c, p2d, p2e, p2f;
}

public final class MpmcIntQueue extends MpmcIntQueuePad2 {
    private static final VarHandle TAIL, HEAD;
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle VAL = MethodHandles.arrayElementVarHandle(int[].class);

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(MpmcIntQueueTail.class, "tail", long.class);
            HEAD = MethodHandles.lookup().findVarHandle(MpmcIntQueueHead.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int mask;
    private final long[] sequence;
    private final int[] values;

    /** A queue holding at least {@code capacity} values (rounded up to a power of two). */
    public MpmcIntQueue(int capacity) {
        if (capacity < 1 || capacity > (1 << 30)) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        int cap = Integer.highestOneBit(capacity);
        if (cap < capacity) {
            cap <<= 1;
        }
        cap = Math.max(cap, 2);
        mask = cap - 1;
        sequence = new long[cap];
        values = new int[cap];
        for (int i = 0; i < cap; i++) {
            sequence[i] = i;
        }
        VarHandle.releaseFence();
    }

    /** Slots in the queue. */
    public int capacity() {
        return mask + 1;
    }

    /** Adds {@code value}; false when the queue is full. Any thread. */
    public boolean offer(int value) {
        long pos = (long) TAIL.getOpaque(this);
        while (true) {
            int idx = (int) pos & mask;
            long seq = (long) SEQ.getAcquire(sequence, idx);
            long dif = seq - pos;
            if (dif == 0) {
                if (TAIL.weakCompareAndSet(this, pos, pos + 1)) {
                    VAL.set(values, idx, value);
                    SEQ.setRelease(sequence, idx, pos + 1);
                    return true;
                }
                pos = (long) TAIL.getOpaque(this);
            } else if (dif < 0) {
                return false;
            } else {
                pos = (long) TAIL.getOpaque(this);
            }
        }
    }

    /** Takes the oldest value, or -1 when the queue is (or looks) empty. Any thread. */
    public int poll() {
        long pos = (long) HEAD.getOpaque(this);
        while (true) {
            int idx = (int) pos & mask;
            long seq = (long) SEQ.getAcquire(sequence, idx);
            long dif = seq - (pos + 1);
            if (dif == 0) {
                if (HEAD.weakCompareAndSet(this, pos, pos + 1)) {
                    int v = (int) VAL.get(values, idx);
                    SEQ.setRelease(sequence, idx, pos + mask + 1);
                    return v;
                }
                pos = (long) HEAD.getOpaque(this);
            } else if (dif < 0) {
                return -1;
            } else {
                pos = (long) HEAD.getOpaque(this);
            }
        }
    }

    /** Values in the queue, approximately (exact when no thread is mid-operation). */
    public int size() {
        while (true) {
            long h = head;
            long t = tail;
            if (h == head) {
                return (int) Math.max(0, Math.min(t - h, mask + 1));
            }
        }
    }
}
