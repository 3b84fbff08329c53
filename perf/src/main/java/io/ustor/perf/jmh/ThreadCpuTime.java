package io.ustor.perf.jmh;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * CPU time the benchmark thread got per operation in the current iteration, reported as {@code cpuNsPerOp}. On a
 * shared machine the wall-clock score includes the time the thread waited for a core; this does not, so it is the
 * figure that stays comparable between loaded and quiet runs (as bdevperf's "I/Os per CPU-second"). For benchmarks
 * whose whole I/O path runs on the benchmark thread. JMH sums EVENTS counters over the measurement iterations in
 * its final table: read the per-iteration value (the "(min, avg, max)" line of the secondary result).
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class ThreadCpuTime {
    /** HotSpot reads the thread's CPU clock without allocating (env's Clock goes through an FFM downcall that does). */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Reported: CPU nanoseconds per operation so far in this iteration. */
    public double cpuNsPerOp;

    private long startCpu = -1;
    private long ops;

    @Setup(Level.Iteration)
    public void reset() {
        startCpu = -1;
        ops = 0;
        cpuNsPerOp = 0;
    }

    /** Call on the benchmark thread after each invocation with the operations it did. */
    void add(long invocationOps) {
        long now = THREADS.getCurrentThreadCpuTime();
        if (startCpu < 0) {
            startCpu = now; // the first invocation of an iteration only sets the start
            return;
        }
        ops += invocationOps;
        cpuNsPerOp = (double) (now - startCpu) / ops;
    }
}
