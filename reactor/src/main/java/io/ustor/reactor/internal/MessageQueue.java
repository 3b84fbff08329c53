package io.ustor.reactor.internal;

import io.ustor.reactor.MessageHandler;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded multi-producer, single-consumer queue of preallocated message slots (handler, arg, value), after
 * Dmitry Vyukov's bounded queue: each slot carries a sequence number that says whose turn it is, producers claim a
 * position with one CAS on the tail, fill the slot in place and publish it by advancing its sequence. Nothing is
 * allocated per message, nothing blocks, and a full queue makes {@link #offer} return false.
 *
 * <p>{@link #close()} makes later offers fail. The consumer learns, through {@link #tail()} read after the close, the
 * exact set of accepted messages: an offer that claimed a slot re-checks the closed flag after its CAS, and if the
 * queue closed meanwhile it publishes the slot empty (handler null) and reports failure. Volatile ordering of the
 * tail CAS against the flag makes "offer returned true" and "the consumer's tail covers it" the same thing.
 */
public final class MessageQueue extends MessageQueueTail {
    private static final VarHandle SEQ, TAIL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SEQ = l.findVarHandle(Slot.class, "seq", long.class).withInvokeExactBehavior();
            TAIL = l.findVarHandle(MessageQueueTail.class, "tail", long.class).withInvokeExactBehavior();
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One preallocated message. seq == position: free for the producer of that position; position+1: published. */
    static final class Slot {
        long seq;
        MessageHandler handler;
        Object arg;
        long value;
    }

    /** The message the consumer is running now (its slot is already freed for reuse). */
    public MessageHandler handler;
    public Object arg;
    public long value;

    private final Slot[] slots;
    private final int mask;
    @SuppressWarnings("unused")
    private long p10, p11, p12, p13, p14, p15, p16;

    /** A queue of {@code capacity} slots, rounded up to a power of two. */
    public MessageQueue(int capacity) {
        if (capacity < 2 || capacity > 1 << 30) {
            throw new IllegalArgumentException("message queue capacity " + capacity + " outside 2..2^30");
        }
        int size = Integer.highestOneBit(capacity - 1) << 1;
        slots = new Slot[size];
        for (int i = 0; i < size; i++) {
            Slot s = new Slot();
            s.seq = i;
            slots[i] = s;
        }
        mask = size - 1;
        VarHandle.releaseFence();
    }

    public int capacity() {
        return slots.length;
    }

    /** Adds a message; any thread, allocation-free. False when the queue is full or closed. */
    public boolean offer(MessageHandler h, Object a, long v) {
        if (closed) {
            return false;
        }
        long pos = (long) TAIL.getVolatile((MessageQueueTail) this);
        Slot s;
        while (true) {
            s = slots[(int) pos & mask];
            long dif = (long) SEQ.getAcquire(s) - pos;
            if (dif == 0) {
                if (TAIL.compareAndSet((MessageQueueTail) this, pos, pos + 1)) {
                    break;
                }
                pos = (long) TAIL.getVolatile((MessageQueueTail) this);
            } else if (dif < 0) {
                return false; // the slot still holds a message from one lap ago: full
            } else {
                pos = (long) TAIL.getVolatile((MessageQueueTail) this);
            }
        }
        boolean accepted = !closed;
        if (accepted) {
            s.handler = h;
            s.arg = a;
            s.value = v;
        }
        SEQ.setRelease(s, pos + 1);
        return accepted;
    }

    /**
     * Consumer only: takes the next message into {@link #handler}, {@link #arg}, {@link #value} and returns true, or
     * returns false when the next slot is not published yet. A slot published empty (a send that lost the race with
     * {@link #close()}) yields handler null.
     */
    public boolean poll() {
        long h = head;
        Slot s = slots[(int) h & mask];
        if ((long) SEQ.getAcquire(s) != h + 1) {
            return false;
        }
        handler = s.handler;
        arg = s.arg;
        value = s.value;
        s.handler = null;
        s.arg = null;
        SEQ.setRelease(s, h + slots.length);
        setHead(h + 1);
        return true;
    }

    /** Consumer only: clears the references of the message just run. */
    public void clearCurrent() {
        handler = null;
        arg = null;
    }

    /** Positions claimed by producers so far (some may not be published yet). */
    public long tail() {
        return (long) TAIL.getVolatile((MessageQueueTail) this);
    }

    /** Consumer only: positions consumed so far. */
    public long head() {
        return head;
    }

    /** Messages waiting, approximately; any thread. */
    public int size() {
        long n = tail() - headOpaque();
        return (int) Math.max(0, Math.min(n, slots.length));
    }

    /** Makes every later offer fail. Any thread; idempotent. */
    public void close() {
        closed = true;
    }

    public boolean isClosed() {
        return closed;
    }
}

/** Left padding, then the consumer's fields, on their own cache lines away from the producers' tail. */
abstract class MessageQueuePad0 {
    @SuppressWarnings("unused")
    private long p00, p01, p02, p03, p04, p05, p06, p07;
}

abstract class MessageQueueHead extends MessageQueuePad0 {
    private static final VarHandle HEAD;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(MessageQueueHead.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Written by the consumer only (opaque, so other threads may read it for {@code size()}). */
    long head;
    volatile boolean closed;

    long headOpaque() {
        return (long) HEAD.getOpaque(this);
    }

    void setHead(long h) {
        HEAD.setOpaque(this, h);
    }
}

abstract class MessageQueuePad1 extends MessageQueueHead {
    @SuppressWarnings("unused")
    private long p20, p21, p22, p23, p24, p25, p26, p27;
}

abstract class MessageQueueTail extends MessageQueuePad1 {
    volatile long tail;
    @SuppressWarnings("unused")
    private long p30, p31, p32, p33, p34, p35, p36, p37;
}
