package io.ustor.bdev;

import io.ustor.bdev.internal.IoStatCounters;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of I/O statistics (of a bdev, or one channel of it): per I/O type the completed operations, bytes,
 * latency sum/max/min in ticks (nanoseconds: {@link #TICK_RATE}) and failed operations. Counts user requests as
 * submitted (a split request is one operation). Like SPDK, write_zeroes, flush and reset are not counted as reads or
 * writes; their failures are in {@link #errors}.
 *
 * <p>Latencies are taken from the reactor's loop clock ({@link io.ustor.reactor.Reactor#now()}): a request is stamped
 * with the time the poller or message batch that submitted it started, and ends at the time the poller that
 * completed it started. So they are exact to one poller run (typically well under a microsecond to a few
 * microseconds), which costs a field read per I/O where reading the system clock twice per I/O cost half of a
 * null bdev's CPU time (System.nanoTime() is 25-100 ns on a VM). SPDK reads the TSC per I/O for the same figures.
 */
public final class IoStats {
    /** Ticks per second of the latency figures (they are nanoseconds). */
    public static final long TICK_RATE = 1_000_000_000L;

    private final long[] c;

    IoStats(long[] accumulated) {
        this.c = accumulated;
    }

    private long get(IoType t, int field) {
        return c[t.ordinal() * IoStatCounters.PER_TYPE + field];
    }

    public long ops(IoType t) {
        return get(t, IoStatCounters.OPS);
    }

    public long bytes(IoType t) {
        return get(t, IoStatCounters.BYTES);
    }

    /** Sum of the latencies of successful ops, in ticks (ns). */
    public long latencyTicks(IoType t) {
        return get(t, IoStatCounters.LATENCY);
    }

    public long maxLatencyTicks(IoType t) {
        return get(t, IoStatCounters.MAX_LATENCY);
    }

    /** 0 when there were no ops (as SPDK prints it). */
    public long minLatencyTicks(IoType t) {
        long v = get(t, IoStatCounters.MIN_LATENCY);
        return v == Long.MAX_VALUE ? 0 : v;
    }

    public long errors(IoType t) {
        return get(t, IoStatCounters.ERRORS);
    }

    public long totalErrors() {
        long n = 0;
        for (IoType t : IoType.VALUES) {
            n += errors(t);
        }
        return n;
    }

    /**
     * The fields of SPDK's bdev_get_iostat for one bdev, in SPDK's order (after "name", which the caller adds):
     * bytes_read, num_read_ops, bytes_written, num_write_ops, bytes_unmapped, num_unmap_ops, bytes_copied,
     * num_copy_ops, then read/write/unmap/copy latency ticks with max and min, then io_error (failed ops per I/O
     * type, only the non-zero ones). Copy is not supported, so its figures are 0.
     */
    public Map<String, Object> toSpdkMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bytes_read", bytes(IoType.READ));
        m.put("num_read_ops", ops(IoType.READ));
        m.put("bytes_written", bytes(IoType.WRITE));
        m.put("num_write_ops", ops(IoType.WRITE));
        m.put("bytes_unmapped", bytes(IoType.UNMAP));
        m.put("num_unmap_ops", ops(IoType.UNMAP));
        m.put("bytes_copied", 0L);
        m.put("num_copy_ops", 0L);
        latency(m, "read", IoType.READ);
        latency(m, "write", IoType.WRITE);
        latency(m, "unmap", IoType.UNMAP);
        m.put("copy_latency_ticks", 0L);
        m.put("max_copy_latency_ticks", 0L);
        m.put("min_copy_latency_ticks", 0L);
        Map<String, Object> errors = new LinkedHashMap<>();
        for (IoType t : IoType.VALUES) {
            if (errors(t) != 0) {
                errors.put(t.spdkName(), errors(t));
            }
        }
        m.put("io_error", errors);
        return m;
    }

    private void latency(Map<String, Object> m, String name, IoType t) {
        m.put(name + "_latency_ticks", latencyTicks(t));
        m.put("max_" + name + "_latency_ticks", maxLatencyTicks(t));
        m.put("min_" + name + "_latency_ticks", minLatencyTicks(t));
    }

    @Override
    public String toString() {
        return "IoStats" + toSpdkMap();
    }
}
