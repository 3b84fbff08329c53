package io.ustor.perf;

import io.ustor.perf.report.RunTotals;

import java.util.List;

/** A finished run: one result per job, the totals, and whether anything failed (the exit code follows it). */
public record BdevperfReport(List<JobResult> results, RunTotals totals, boolean failed) {
    public BdevperfReport {
        results = List.copyOf(results);
    }
}
