package io.ustor.reactor;

/**
 * A snapshot of one poller's counters (SPDK thread_get_pollers).
 *
 * @param periodNanos 0 for an active poller (runs every iteration), else a timed poller's period
 * @param runCount    times it ran
 * @param busyCount   times it returned &gt;0
 * @param busyNanos   time in runs that returned &gt;0
 * @param idleNanos   time in runs that returned 0 or threw
 * @param exceptions  times it threw
 */
public record PollerStats(String name, String reactor, long periodNanos, long runCount, long busyCount,
                          long busyNanos, long idleNanos, long exceptions) {
    /** True for a timed poller. */
    public boolean timed() {
        return periodNanos > 0;
    }
}
