package io.ustor.env;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One reactor's window on an {@link IoBufferPool}: {@link #get} and {@link #put} work on a small local stack of
 * buffers per size class and go to the pool's shared free list only in batches (half the cache at a time, at most
 * 32), so most I/Os touch no shared memory. Allocation-free and lock-free.
 *
 * <p>When neither the cache nor the pool has a buffer, {@link #get} queues the caller's {@link IoBufferWaiter} in a
 * FIFO and returns null; it never blocks and never fails. A later {@link #put} on this cache hands its buffer
 * straight to the first waiter, and {@link #poll()} serves waiters from buffers other reactors returned to the pool.
 * While waiters are queued, new gets queue behind them (first come, first served).
 *
 * <p><b>Not thread-safe:</b> one cache per reactor, used only on that reactor's thread. Register {@link #poll()} as
 * one of the reactor's pollers (it returns 0 at once when nobody waits): without it, a waiter whose buffers come back
 * through other reactors' caches waits until something is put on this one. Counters may be read from any thread.
 */
public final class IoBufferCache implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IoBufferCache.class.getName());
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int HITS = 0, GLOBAL = 1, WAITS = 2, HANDOFFS = 3, WAITERS = 4, OUT = 5, CACHED = 6;
    private static final int MAX_BATCH = 32;

    private final IoBufferPool pool;
    private final String name;
    private final Lane small, large;
    private boolean closed;

    IoBufferCache(IoBufferPool pool, String name, int smallCacheSize, int largeCacheSize) {
        this.pool = pool;
        this.name = name;
        this.small = new Lane(pool.small, smallCacheSize);
        this.large = new Lane(pool.large, largeCacheSize);
    }

    /**
     * A buffer of at least {@code length} bytes (small up to {@link IoBufferPool#smallBufferSize()}, else large), or
     * null: then {@code waiter}, unless null, is queued and later called back with a buffer on this reactor.
     * Throws IllegalArgumentException for a length above {@link IoBufferPool#largeBufferSize()} and
     * IllegalStateException when the waiter is queued already.
     */
    public MemorySegment get(long length, IoBufferWaiter waiter) {
        if (closed) {
            throw new IllegalStateException("iobuf cache " + name + " is closed");
        }
        return (length <= small.cls.bufferSize && length >= 0 ? small : laneFor(length)).get(waiter);
    }

    /** Returns a buffer from this pool (taken through any cache): to the first waiter, else into the cache. */
    public void put(MemorySegment buffer) {
        long addr = buffer.address();
        int idx = small.cls.indexOf(addr);
        if (idx >= 0) {
            small.put(idx);
            return;
        }
        idx = large.cls.indexOf(addr);
        if (idx >= 0) {
            large.put(idx);
            return;
        }
        throw new IllegalArgumentException("0x" + Long.toHexString(addr) + " is not a buffer of this iobuf pool");
    }

    /**
     * Serves queued waiters from the pool's shared free list. A reactor poller: returns how many waiters it served,
     * 0 at once when none wait.
     */
    public int poll() {
        if (small.head == null && large.head == null) {
            return 0;
        }
        return small.serveFromPool() + large.serveFromPool();
    }

    /** Takes {@code waiter} out of this cache's queue; false when it was not queued here. */
    public boolean cancel(IoBufferWaiter waiter) {
        if (waiter.queuedOn == small) {
            return small.unlink(waiter);
        }
        if (waiter.queuedOn == large) {
            return large.unlink(waiter);
        }
        return false;
    }

    /** Whether any waiter is queued. */
    public boolean hasWaiters() {
        return small.head != null || large.head != null;
    }

    /** The cache's name (the reactor it belongs to). */
    public String name() {
        return name;
    }

    /** The pool the cache draws from. */
    public IoBufferPool pool() {
        return pool;
    }

    /** Small-buffer counters; any thread. */
    public IoBufferStats smallStats() {
        return small.stats();
    }

    /** Large-buffer counters; any thread. */
    public IoBufferStats largeStats() {
        return large.stats();
    }

    /** Gets served from the cache, both sizes; any thread. */
    public long cacheHits() {
        return small.read(HITS) + large.read(HITS);
    }

    /** Gets and waiters served from the shared pool, both sizes; any thread. */
    public long globalGets() {
        return small.read(GLOBAL) + large.read(GLOBAL);
    }

    /** Gets that had to queue a waiter (SPDK's "retry"), both sizes; any thread. */
    public long waits() {
        return small.read(WAITS) + large.read(WAITS);
    }

    /** Waiters queued now, both sizes; any thread. */
    public long waiters() {
        return small.read(WAITERS) + large.read(WAITERS);
    }

    /** Buffers handed out through this cache and not put back through it, both sizes; any thread. */
    public long buffersOut() {
        return small.read(OUT) + large.read(OUT);
    }

    /**
     * Returns the cached buffers to the pool. Waiters still queued are dropped (logged): cancel them first. Later puts
     * on this cache go straight to the pool; gets fail. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int dropped = small.drainAll() + large.drainAll();
        if (dropped > 0) {
            LOG.log(System.Logger.Level.WARNING, "iobuf cache {0} closed with {1} waiters queued; they will not be called",
                    name, Integer.toString(dropped));
        }
        pool.cacheClosed(this, small.capacity, large.capacity);
    }

    @Override
    public String toString() {
        return "IoBufferCache[" + name + " small " + small.stats() + ", large " + large.stats() + "]";
    }

    private Lane laneFor(long length) {
        return pool.classFor(length) == small.cls ? small : large;
    }

    /** One size class of the cache: local stack, waiter FIFO, counters. */
    private final class Lane {
        final IoBufferClass cls;
        final int capacity;
        final int batch;
        final int[] stack;
        int count;
        IoBufferWaiter head, tail;
        /** Written by the owner with opaque stores, read by anyone. */
        final long[] counters = new long[7];

        Lane(IoBufferClass cls, int capacity) {
            this.cls = cls;
            this.capacity = capacity;
            this.batch = Math.max(1, Math.min(MAX_BATCH, capacity / 2));
            this.stack = new int[capacity];
        }

        MemorySegment get(IoBufferWaiter waiter) {
            if (head == null) {
                if (count > 0) {
                    int idx = stack[--count];
                    bump(HITS, 1);
                    set(CACHED, count);
                    return handOut(idx);
                }
                int idx = cls.free.poll();
                if (idx >= 0) {
                    refill();
                    bump(GLOBAL, 1);
                    return handOut(idx);
                }
            }
            if (waiter != null) {
                enqueue(waiter);
                bump(WAITS, 1);
            }
            return null;
        }

        void put(int idx) {
            cls.markFree(idx);
            bump(OUT, -1);
            IoBufferWaiter w = head;
            if (w != null) {
                dequeue(w);
                bump(HANDOFFS, 1);
                w.onBufferAvailable(handOut(idx));
                return;
            }
            if (closed || capacity == 0) {
                cls.release(idx);
                return;
            }
            if (count == capacity) {
                flush(batch);
            }
            stack[count++] = idx;
            set(CACHED, count);
        }

        int serveFromPool() {
            int served = 0;
            IoBufferWaiter w;
            while ((w = head) != null) {
                int idx = cls.free.poll();
                if (idx < 0) {
                    break;
                }
                dequeue(w);
                bump(GLOBAL, 1);
                served++;
                w.onBufferAvailable(handOut(idx));
            }
            return served;
        }

        /** After taking one buffer from the pool: take up to a batch more into the (empty) stack. */
        private void refill() {
            int want = Math.min(batch - 1, capacity - count);
            for (int i = 0; i < want; i++) {
                int idx = cls.free.poll();
                if (idx < 0) {
                    break;
                }
                stack[count++] = idx;
            }
            set(CACHED, count);
        }

        private void flush(int n) {
            for (int i = 0; i < n && count > 0; i++) {
                cls.release(stack[--count]);
            }
            set(CACHED, count);
        }

        private MemorySegment handOut(int idx) {
            cls.markOut(idx);
            bump(OUT, 1);
            return cls.buffers[idx];
        }

        private void enqueue(IoBufferWaiter w) {
            if (w.queuedOn != null) {
                throw new IllegalStateException("iobuf waiter " + w + " is queued already");
            }
            w.queuedOn = this;
            w.next = null;
            if (tail == null) {
                head = w;
            } else {
                tail.next = w;
            }
            tail = w;
            bump(WAITERS, 1);
        }

        /** Removes the head {@code w}. */
        private void dequeue(IoBufferWaiter w) {
            head = w.next;
            if (head == null) {
                tail = null;
            }
            w.next = null;
            w.queuedOn = null;
            bump(WAITERS, -1);
        }

        boolean unlink(IoBufferWaiter w) {
            IoBufferWaiter prev = null;
            for (IoBufferWaiter cur = head; cur != null; prev = cur, cur = cur.next) {
                if (cur == w) {
                    if (prev == null) {
                        head = w.next;
                    } else {
                        prev.next = w.next;
                    }
                    if (tail == w) {
                        tail = prev;
                    }
                    w.next = null;
                    w.queuedOn = null;
                    bump(WAITERS, -1);
                    return true;
                }
            }
            return false;
        }

        /** Returns every cached buffer to the pool and drops the waiters; returns how many waiters were dropped. */
        int drainAll() {
            flush(count);
            int dropped = 0;
            IoBufferWaiter w;
            while ((w = head) != null) {
                dequeue(w);
                dropped++;
            }
            return dropped;
        }

        private void bump(int counter, long delta) {
            COUNTER.setOpaque(counters, counter, counters[counter] + delta);
        }

        private void set(int counter, long value) {
            COUNTER.setOpaque(counters, counter, value);
        }

        long read(int counter) {
            return (long) COUNTER.getOpaque(counters, counter);
        }

        IoBufferStats stats() {
            return new IoBufferStats(read(HITS), read(GLOBAL), read(WAITS), read(HANDOFFS), read(WAITERS), read(OUT),
                    read(CACHED));
        }
    }
}
