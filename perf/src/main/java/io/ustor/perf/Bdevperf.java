package io.ustor.perf;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevEventType;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.perf.config.Environments;
import io.ustor.perf.config.PerfEnvironment;
import io.ustor.perf.job.BdevperfJob;
import io.ustor.perf.job.JobSpec;
import io.ustor.perf.report.JsonResults;
import io.ustor.perf.report.ResultsTable;
import io.ustor.perf.report.RunTotals;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code bdevperf}: drives every bdev of a JSON config (or the one named by -T) at a fixed queue depth from the
 * reactors and reports IOPS, bandwidth and latency, with SPDK bdevperf's options and output.
 * Exit code: 0 when every I/O succeeded (and verified), 1 on an I/O error, miscompare or setup failure, 2 on a bad
 * command line.
 */
public final class Bdevperf {
    /** How long past -t the jobs get to drain before the run is declared hung. */
    private static final long DRAIN_GRACE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private Bdevperf() {
    }

    public static void main(String[] args) {
        quietLogging();
        ShutdownReport shutdown = new ShutdownReport();
        shutdown.install();
        int rc = run(args, System.out, System.err, shutdown);
        shutdown.reported();
        System.exit(rc);
    }

    /**
     * The daemon's INFO lines (reactor started, bdev registered) would bury the report: show warnings and errors only,
     * unless a logging config is given (BDEVPERF_JAVA_OPTS=-Djava.util.logging.config.file=...).
     */
    private static void quietLogging() {
        if (System.getProperty("java.util.logging.config.file") == null
                && System.getProperty("java.util.logging.config.class") == null) {
            java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
            root.setLevel(java.util.logging.Level.WARNING);
        }
    }

    /** The whole tool, without System.exit: parse, start the reactors and bdevs, run, report. Returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, null);
    }

    private static int run(String[] args, PrintStream out, PrintStream err, ShutdownReport shutdown) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                out.print(BdevperfOptions.usage());
                return 0;
            }
        }
        BdevperfOptions o;
        try {
            o = BdevperfOptions.parse(args);
        } catch (UsageException e) {
            err.println("bdevperf: " + e.getMessage());
            err.println("Try 'bdevperf --help'.");
            return 2;
        }
        PrintStream human = o.jsonToStdout() ? err : out;
        for (String w : o.warnings()) {
            err.println(w);
        }
        try (PerfEnvironment env = Environments.start(o)) {
            BdevperfReport report = run(o, env, human, shutdown);
            ResultsTable.print(human, report.results(), report.totals());
            human.flush();
            if (o.jsonResults() != null) {
                String json = JsonResults.toString(report.results(), report.totals());
                if (o.jsonToStdout()) {
                    out.println(json);
                    out.flush();
                } else {
                    Files.writeString(o.jsonResults(), json + "\n", StandardCharsets.UTF_8);
                }
            }
            return report.failed() ? 1 : 0;
        } catch (BdevperfException | IOException e) {
            err.println("bdevperf: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            err.println("bdevperf: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    /** Runs the jobs {@code o} describes against the bdevs of {@code env}; progress goes to {@code out}. */
    public static BdevperfReport run(BdevperfOptions o, PerfEnvironment env, PrintStream out) throws BdevperfException {
        return run(o, env, out, null);
    }

    private static BdevperfReport run(BdevperfOptions o, PerfEnvironment env, PrintStream out, ShutdownReport shutdown)
            throws BdevperfException {
        List<JobSpec> specs = plan(o, env.bdevs(), env.reactors(), out);
        if (specs.isEmpty()) {
            throw new BdevperfException("No jobs defined or bdevs created");
        }
        List<BdevperfJob> jobs = new ArrayList<>();
        List<BdevDesc> descs = new ArrayList<>();
        try {
            for (JobSpec s : specs) {
                Reactor r = env.reactors().reactor(s.reactorIndex());
                BdevperfJob[] holder = new BdevperfJob[1];
                BdevDesc desc = env.bdevs().open(s.bdevName(), true, (type, d) -> {
                    if (type == BdevEventType.REMOVE && holder[0] != null) {
                        out.printf("bdev %s is being removed; stopping its job%n", s.bdevName());
                        r.submit(holder[0]::stop);
                    }
                });
                descs.add(desc);
                try {
                    holder[0] = new BdevperfJob(s, r, desc, env.dma(), out);
                } catch (IllegalArgumentException e) {
                    throw new BdevperfException(e.getMessage());
                }
                jobs.add(holder[0]);
            }
            return execute(o, jobs, out, shutdown);
        } finally {
            for (BdevperfJob j : jobs) {
                if (j.done().isDone()) {
                    j.release();
                }
            }
            for (BdevDesc d : descs) {
                d.close();
            }
        }
    }

    /** SPDK's job layout: one job per bdev on the next core round-robin, or with -C one per bdev on every core. */
    static List<JobSpec> plan(BdevperfOptions o, BdevRegistry registry, ReactorGroup reactors, PrintStream out)
            throws BdevperfException {
        List<Bdev> targets = new ArrayList<>();
        if (o.bdevName() != null) {
            Bdev b = registry.lookup(o.bdevName());
            if (b == null) {
                throw new BdevperfException("Unable to find bdev '" + o.bdevName() + "'");
            }
            targets.add(b);
        } else {
            targets.addAll(registry.list());
        }
        long timeNanos = TimeUnit.SECONDS.toNanos(o.timeSeconds());
        List<JobSpec> specs = new ArrayList<>();
        int nextReactor = 0;
        int cores = reactors.size();
        for (Bdev b : targets) {
            if (o.workload() == Workload.UNMAP && !b.supportsIoType(IoType.UNMAP)) {
                out.printf("Skipping %s because it does not support unmap%n", b.name());
                continue;
            }
            if (o.everyCore()) {
                long perJob = b.numBlocks() / cores;
                for (int i = 0; i < cores; i++) {
                    specs.add(spec(o, b, i, i * perJob, perJob, timeNanos));
                }
            } else {
                specs.add(spec(o, b, nextReactor, 0, 0, timeNanos));
                nextReactor = (nextReactor + 1) % cores;
            }
        }
        return specs;
    }

    private static JobSpec spec(BdevperfOptions o, Bdev b, int reactor, long offset, long length, long timeNanos) {
        return new JobSpec(b.name(), reactor, o.workload(), o.ioSize(), o.queueDepth(), o.readPercentage(), offset,
                length, timeNanos, o.continueOnFailure(), ThreadLocalRandom.current().nextLong());
    }

    private static BdevperfReport execute(BdevperfOptions o, List<BdevperfJob> jobs, PrintStream out,
                                          ShutdownReport shutdown) throws BdevperfException {
        out.printf("Running I/O for %d seconds...%n", o.timeSeconds());
        out.flush();
        for (BdevperfJob j : jobs) {
            if (!j.reactor().submit(j::start)) {
                throw new BdevperfException("reactor " + j.reactor().name() + " did not take job " + j.name());
            }
        }
        CompletableFuture<?>[] futures = new CompletableFuture<?>[jobs.size()];
        for (int i = 0; i < futures.length; i++) {
            futures[i] = jobs.get(i).done();
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(futures);
        if (shutdown != null) {
            shutdown.running(jobs);
        }
        ProgressPrinter progress = new ProgressPrinter(o, jobs, out);
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(o.timeSeconds()) + DRAIN_GRACE_NANOS;
        long period = TimeUnit.SECONDS.toNanos(o.progressSeconds());
        long nextTick = start + period;
        while (true) {
            long now = System.nanoTime();
            if (now >= deadline) {
                throw new BdevperfException("jobs did not finish " + (DRAIN_GRACE_NANOS / 1_000_000_000L)
                        + " s after the run time; I/O is stuck");
            }
            try {
                all.get(Math.max(1, Math.min(nextTick, deadline) - now), TimeUnit.NANOSECONDS);
                break;
            } catch (TimeoutException e) {
                if (System.nanoTime() >= nextTick) {
                    progress.tick(nextTick - start);
                    nextTick += period;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BdevperfException("interrupted");
            } catch (ExecutionException e) {
                throw new BdevperfException("job failed: " + e.getCause());
            }
        }
        if (shutdown != null && shutdown.requested()) {
            out.printf("Received shutdown signal, test time was about %.6f seconds%n", (System.nanoTime() - start) / 1e9);
        }
        List<JobResult> results = new ArrayList<>();
        List<Histogram> histograms = new ArrayList<>();
        boolean failed = false;
        for (BdevperfJob j : jobs) {
            JobResult r = j.done().join();
            results.add(r);
            histograms.add(j.histogram());
            failed |= r.failed() || r.ioFailed() > 0;
        }
        return new BdevperfReport(results, RunTotals.of(results, histograms), failed);
    }
}
