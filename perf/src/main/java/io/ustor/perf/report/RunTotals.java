package io.ustor.perf.report;

import io.ustor.perf.JobResult;
import org.HdrHistogram.Histogram;

import java.util.List;

/** The Total line: rates summed over jobs, latency from all jobs' histograms merged. Microseconds. */
public record RunTotals(double iops, double mibps, double failedPerSecond, long ioCompleted, long ioFailed,
                        double avgLatencyUs, double minLatencyUs, double maxLatencyUs,
                        double p50LatencyUs, double p99LatencyUs, double p999LatencyUs, int coreCount,
                        double cpuSeconds) {

    /** Completed I/Os per second of reactor CPU time: the figure that holds up on a shared machine. */
    public double iosPerCpuSecond() {
        return cpuSeconds > 0 ? ioCompleted / cpuSeconds : 0;
    }

    /** Sums {@code results}; {@code histograms} are the jobs' nanosecond histograms (merged into a copy). */
    public static RunTotals of(List<JobResult> results, List<Histogram> histograms) {
        double iops = 0, mibps = 0, fails = 0;
        long completed = 0, failed = 0;
        java.util.BitSet cores = new java.util.BitSet();
        // Jobs on one reactor share its thread: count each reactor's CPU once (its longest job window).
        java.util.Map<Integer, Double> cpuByCore = new java.util.HashMap<>();
        for (JobResult r : results) {
            iops += r.iops();
            mibps += r.mibps();
            fails += r.failedPerSecond();
            completed += r.ioCompleted();
            failed += r.ioFailed();
            cores.set(r.core());
            cpuByCore.merge(r.core(), r.cpuSeconds(), Math::max);
        }
        double cpu = 0;
        for (double c : cpuByCore.values()) {
            cpu += c;
        }
        Histogram all = null;
        for (Histogram h : histograms) {
            if (all == null) {
                all = h.copy();
            } else {
                all.add(h);
            }
        }
        boolean any = all != null && all.getTotalCount() > 0;
        return new RunTotals(iops, mibps, fails, completed, failed,
                any ? all.getMean() / 1e3 : 0, any ? all.getMinValue() / 1e3 : 0, any ? all.getMaxValue() / 1e3 : 0,
                any ? all.getValueAtPercentile(50) / 1e3 : 0, any ? all.getValueAtPercentile(99) / 1e3 : 0,
                any ? all.getValueAtPercentile(99.9) / 1e3 : 0, cores.cardinality(), cpu);
    }
}
