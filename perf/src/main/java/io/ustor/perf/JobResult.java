package io.ustor.perf;

/**
 * One job's figures at the end of a run, as SPDK bdevperf reports them plus latency percentiles.
 * Latencies are microseconds; the rates are per second of the job's own run time.
 *
 * @param status "finished", or "failed" when an I/O failed or verify miscompared
 * @param verifyStart first I/O unit of the verify range (-1 when not a verify job)
 * @param verifyLength I/O units in the verify range
 * @param cpuSeconds CPU time the job's reactor thread got while the job ran (shared by the jobs on that reactor);
 *                   on a loaded machine it is less than the run time, and I/Os per CPU-second stay comparable
 */
public record JobResult(String job, String coreMask, int core, Workload workload, int readPercentage, String status,
                        int queueDepth, int ioSize, double runtimeSeconds, long ioCompleted, long ioFailed,
                        double iops, double mibps, double failedPerSecond,
                        double avgLatencyUs, double minLatencyUs, double maxLatencyUs,
                        double p50LatencyUs, double p99LatencyUs, double p999LatencyUs,
                        long verifyStart, long verifyLength, double cpuSeconds) {

    public boolean failed() {
        return !"finished".equals(status);
    }
}
