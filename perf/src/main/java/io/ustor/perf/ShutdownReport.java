package io.ustor.perf;

import io.ustor.perf.job.BdevperfJob;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C or SIGTERM during a run: stop the jobs early and let the report print before the JVM exits, as SPDK's
 * bdevperf does on a shutdown signal.
 */
final class ShutdownReport {
    private static final long REPORT_WAIT_SECONDS = 15;

    private final CountDownLatch reported = new CountDownLatch(1);
    private final Thread hook = new Thread(this::onShutdown, "bdevperf-shutdown");
    private List<BdevperfJob> jobs = List.of();
    private boolean requested;

    void install() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** The jobs are about to start; drains them at once when the signal came during setup. */
    synchronized void running(List<BdevperfJob> running) {
        this.jobs = running;
        if (requested) {
            drainAll();
        }
    }

    synchronized boolean requested() {
        return requested;
    }

    /** The report is out: the JVM may exit. */
    void reported() {
        reported.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The hook is running and returns now that the report is out.
        }
    }

    private void onShutdown() {
        synchronized (this) {
            requested = true;
            drainAll();
        }
        try {
            reported.await(REPORT_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void drainAll() {
        for (BdevperfJob j : jobs) {
            j.reactor().submit(j::stop);
        }
    }
}
