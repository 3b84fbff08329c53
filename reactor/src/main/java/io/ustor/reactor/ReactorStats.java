package io.ustor.reactor;

/**
 * A snapshot of one reactor's counters (SPDK framework_get_reactors / thread_get_stats). Times are nanoseconds, so
 * SPDK's "ticks" with {@link #TICK_RATE} ticks per second.
 *
 * @param busyNanos       time in loop iterations that did work (a message ran or a poller returned &gt;0)
 * @param idleNanos       time in iterations that found nothing, including idle spinning and sleeping
 * @param loops           loop iterations
 * @param messages        messages run
 * @param queueFull       sends refused because the queue was full
 * @param exceptions      exceptions thrown by pollers and message handlers (logged, then ignored)
 * @param sleeps          times an ADAPTIVE reactor slept on its eventfd
 * @param pinned          whether the thread is pinned to {@code core}
 */
public record ReactorStats(String name, int index, int core, IdleMode idleMode, boolean pinned, long busyNanos,
                           long idleNanos, long loops, long messages, long queueFull, long exceptions, long sleeps,
                           int activePollers, int timedPollers) {
    /** Ticks per second of the busy/idle figures (they are nanoseconds). */
    public static final long TICK_RATE = 1_000_000_000L;
}
