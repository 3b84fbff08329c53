package io.ustor.perf.report;

import io.ustor.perf.JobResult;

import java.io.PrintStream;
import java.util.List;

/** SPDK bdevperf's end-of-run table (same columns, in the same order) with p50/p99/p99.9 latency added. */
public final class ResultsTable {
    private ResultsTable() {
    }

    public static void header(PrintStream out) {
        out.printf("%n%107s%n", "Latency(us)");
        out.printf(" %-28s: %10s %10s %10s %10s %8s %10s %10s %10s %10s %10s %10s%n", "Device Information", "runtime(s)",
                "IOPS", "MiB/s", "Fail/s", "TO/s", "Average", "min", "max", "p50", "p99", "p99.9");
    }

    public static void job(PrintStream out, JobResult r) {
        if (r.workload().mixed()) {
            out.printf(" Job: %s (Core Mask %s, workload: %s, percentage: %d, depth: %d, IO size: %d)%n", r.job(), r.coreMask(),
                    r.workload().spdkName(), r.readPercentage(), r.queueDepth(), r.ioSize());
        } else {
            out.printf(" Job: %s (Core Mask %s, workload: %s, depth: %d, IO size: %d)%n", r.job(), r.coreMask(),
                    r.workload().spdkName(), r.queueDepth(), r.ioSize());
        }
        if (r.failed()) {
            out.printf(" Job: %s ended in about %.2f seconds with error%n", r.job(), r.runtimeSeconds());
        }
        if (r.verifyStart() >= 0) {
            out.printf("\t Verification LBA range: start 0x%x length 0x%x%n", r.verifyStart(), r.verifyLength());
        }
        out.printf("\t %-20s: %10.2f %10.2f %10.2f %10.2f %8.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f%n", r.job(),
                r.runtimeSeconds(), r.iops(), r.mibps(), r.failedPerSecond(), 0.0, r.avgLatencyUs(), r.minLatencyUs(),
                r.maxLatencyUs(), r.p50LatencyUs(), r.p99LatencyUs(), r.p999LatencyUs());
    }

    public static void total(PrintStream out, RunTotals t) {
        out.println(" " + "=".repeat(148));
        out.printf(" %-28s: %10s %10.2f %10.2f %10.2f %8.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f%n", "Total", "",
                t.iops(), t.mibps(), t.failedPerSecond(), 0.0, t.avgLatencyUs(), t.minLatencyUs(), t.maxLatencyUs(),
                t.p50LatencyUs(), t.p99LatencyUs(), t.p999LatencyUs());
        if (t.cpuSeconds() > 0 && t.ioCompleted() > 0) {
            out.printf(" Reactor CPU: %.2f s on %d core(s); %.2f M I/Os per CPU-second (%.3f us of CPU per I/O)%n",
                    t.cpuSeconds(), t.coreCount(), t.iosPerCpuSecond() / 1e6, t.cpuSeconds() * 1e6 / t.ioCompleted());
        }
    }

    public static void print(PrintStream out, List<JobResult> results, RunTotals totals) {
        header(out);
        for (JobResult r : results) {
            job(out, r);
        }
        total(out, totals);
    }
}
