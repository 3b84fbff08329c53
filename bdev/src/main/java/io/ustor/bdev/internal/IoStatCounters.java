package io.ustor.bdev.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * I/O counters of one channel, per I/O type: ops, bytes, latency sum/max/min (nanoseconds) and errors. Only the owning
 * reactor writes them (plain read, opaque write: no fence on the hot path); any thread may read them with
 * {@link #addTo}, seeing each counter whole though not all of them from the same instant.
 */
public final class IoStatCounters {
    public static final int OPS = 0, BYTES = 1, LATENCY = 2, MAX_LATENCY = 3, MIN_LATENCY = 4, ERRORS = 5, PER_TYPE = 6;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final int types;
    private final long[] c;

    public IoStatCounters(int types) {
        this.types = types;
        this.c = newAccumulator(types);
    }

    /** An all-zero accumulator (minimums at Long.MAX_VALUE, meaning none yet) for {@link #addTo}. */
    public static long[] newAccumulator(int types) {
        long[] a = new long[types * PER_TYPE];
        for (int t = 0; t < types; t++) {
            a[t * PER_TYPE + MIN_LATENCY] = Long.MAX_VALUE;
        }
        return a;
    }

    /** Owner only. */
    public void recordSuccess(int type, long bytes, long latencyNanos) {
        long[] a = c;
        int b = type * PER_TYPE;
        LONGS.setOpaque(a, b + OPS, a[b + OPS] + 1);
        LONGS.setOpaque(a, b + BYTES, a[b + BYTES] + bytes);
        LONGS.setOpaque(a, b + LATENCY, a[b + LATENCY] + latencyNanos);
        if (latencyNanos > a[b + MAX_LATENCY]) {
            LONGS.setOpaque(a, b + MAX_LATENCY, latencyNanos);
        }
        if (latencyNanos < a[b + MIN_LATENCY]) {
            LONGS.setOpaque(a, b + MIN_LATENCY, latencyNanos);
        }
    }

    /** Owner only. */
    public void recordError(int type) {
        int i = type * PER_TYPE + ERRORS;
        LONGS.setOpaque(c, i, c[i] + 1);
    }

    /** Adds these counters into {@code acc} (sums, and max/min merged); any thread. */
    public void addTo(long[] acc) {
        merge(c, acc, true);
    }

    /** Merges one accumulator into another. */
    public static void merge(long[] from, long[] into) {
        merge(from, into, false);
    }

    private static void merge(long[] from, long[] into, boolean opaque) {
        for (int i = 0; i < from.length; i++) {
            long v = opaque ? (long) LONGS.getOpaque(from, i) : from[i];
            switch (i % PER_TYPE) {
                case MAX_LATENCY -> into[i] = Math.max(into[i], v);
                case MIN_LATENCY -> into[i] = Math.min(into[i], v);
                default -> into[i] += v;
            }
        }
    }

    public int types() {
        return types;
    }
}
