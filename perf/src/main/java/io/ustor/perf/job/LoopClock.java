package io.ustor.perf.job;

import io.ustor.reactor.Poller;

/**
 * A clock read once per reactor loop instead of once per I/O. System.nanoTime() costs 25-100 ns on the VMs this runs
 * on, as much as the rest of an I/O through a null bdev; reading it once per loop amortizes it over every completion
 * the loop handles. A latency measured with it is off by at most one loop iteration (the loop's own length), which
 * at high queue depth is a small part of the latency and at queue depth 1 is a short loop.
 * {@code -Dbdevperf.latencyClock=io} reads the clock on every completion instead (to compare the two).
 */
final class LoopClock implements Poller {
    private static final boolean PER_IO = "io".equals(System.getProperty("bdevperf.latencyClock"));

    private long now = System.nanoTime();

    @Override
    public int poll() {
        now = System.nanoTime();
        return 0;
    }

    long now() {
        return PER_IO ? System.nanoTime() : now;
    }
}
