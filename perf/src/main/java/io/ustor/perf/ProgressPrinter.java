package io.ustor.perf;

import io.ustor.perf.job.BdevperfJob;

import java.io.PrintStream;
import java.util.List;

/**
 * The line printed every progress period while jobs run: total IOPS and MiB/s over the last period (SPDK prints the
 * running average with a carriage return; a line per period reads better in logs and shows JIT warm-up). With -S,
 * a line per job with the running average, as SPDK does.
 */
final class ProgressPrinter {
    private final BdevperfOptions options;
    private final List<BdevperfJob> jobs;
    private final PrintStream out;
    private long lastCompleted;
    private long lastNanos;

    ProgressPrinter(BdevperfOptions options, List<BdevperfJob> jobs, PrintStream out) {
        this.options = options;
        this.jobs = jobs;
        this.out = out;
    }

    void tick(long elapsedNanos) {
        double seconds = elapsedNanos / 1e9;
        long completed = 0, failed = 0;
        for (BdevperfJob j : jobs) {
            completed += j.completedSoFar();
            failed += j.failedSoFar();
        }
        double interval = (elapsedNanos - lastNanos) / 1e9;
        double iops = (completed - lastCompleted) / interval;
        lastCompleted = completed;
        lastNanos = elapsedNanos;
        if (options.perJobProgress()) {
            for (BdevperfJob j : jobs) {
                double jobIops = j.completedSoFar() / seconds;
                out.printf("\t %-20s: %10.2f %10.2f %10.2f %10.2f%n", j.name(), seconds, jobIops,
                        jobIops * options.ioSize() / (1024.0 * 1024.0), j.failedSoFar() / seconds);
            }
        }
        out.printf("%8.2f s: %12.2f IOPS, %8.2f MiB/s%s%n", seconds, iops, iops * options.ioSize() / (1024.0 * 1024.0),
                failed > 0 ? ", " + failed + " failed" : "");
        out.flush();
    }
}
