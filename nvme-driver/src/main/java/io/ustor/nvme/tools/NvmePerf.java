package io.ustor.nvme.tools;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeNamespace;
import io.ustor.nvme.NvmeQpair;
import io.ustor.nvme.NvmeStatus;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code nvme-perf -a BDF [-q depth] [-o bytes] [-w randread|randwrite|read|write|rw] [-M readpercent] [-t seconds]
 * [-c threads]}: a load generator straight on the driver, each thread polling its own queue pair, output like
 * bdevperf's. No allocation per I/O: tasks are preallocated and resubmit themselves from their completion.
 */
public final class NvmePerf {
    private NvmePerf() {
    }

    public static void main(String[] args) throws Exception {
        String bdf = null, workload = "randread";
        int depth = 1, size = 4096, seconds = 5, threads = 1, readPercent = 50;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "-a" -> bdf = args[++i];
                case "-q" -> depth = Integer.parseInt(args[++i]);
                case "-o" -> size = Integer.parseInt(args[++i]);
                case "-w" -> workload = args[++i];
                case "-M" -> readPercent = Integer.parseInt(args[++i]);
                case "-t" -> seconds = Integer.parseInt(args[++i]);
                case "-c" -> threads = Integer.parseInt(args[++i]);
                default -> usage("unknown option " + args[i]);
            }
        }
        if (bdf == null) {
            usage("-a BDF is required");
        }
        if (!List.of("randread", "randwrite", "read", "write", "rw", "randrw").contains(workload)) {
            usage("unknown workload " + workload);
        }
        try (DmaMemory dma = ToolDma.forDevice(bdf);
             NvmeController c = NvmeController.attach("Nvme0", bdf, dma,
                     NvmeControllerOptions.defaults().withIoQueueEntries(Math.max(depth + 1, 32)))) {
            NvmeNamespace ns = c.namespaces().getFirst();
            if (size % ns.blockSize() != 0 || size > c.maxTransferBytes()) {
                usage("io size " + size + " must be a multiple of " + ns.blockSize() + " and at most " + c.maxTransferBytes());
            }
            List<Worker> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(new Worker(c, ns, t, depth, size, workload, readPercent, seconds));
            }
            List<Thread> ts = new ArrayList<>();
            for (Worker w : workers) {
                Thread th = new Thread(w::run, "nvme-perf-" + w.index);
                ts.add(th);
                th.start();
            }
            for (Thread th : ts) {
                th.join();
            }
            System.out.printf("%-28s %10s %10s %10s %10s %10s %10s%n", "Job", "runtime(s)", "IOPS", "MiB/s", "Fail/s", "Average", "max");
            double total = 0, mib = 0;
            for (Worker w : workers) {
                double iops = w.ios / w.secs;
                total += iops;
                mib += iops * size / (1 << 20);
                System.out.printf("%-28s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f%n",
                        "Nvme0n" + ns.nsid() + " (thread " + w.index + ")", w.secs, iops, iops * size / (1 << 20),
                        w.failed / w.secs, w.latencySum / 1e3 / Math.max(1, w.ios), w.latencyMax / 1e3);
            }
            System.out.printf("%-28s %10s %10.2f %10.2f%n", "Total", "", total, mib);
            System.out.printf("(%s, queue depth %d, io size %d, %d thread(s); latency in us)%n", workload, depth, size, threads);
            for (Worker w : workers) {
                if (w.firstError != 0) {
                    System.out.println("first error: " + NvmeStatus.name(w.firstError));
                }
            }
        }
    }

    private static void usage(String why) {
        System.err.println("nvme-perf: " + why);
        System.err.println("usage: nvme-perf -a BDF [-q depth] [-o bytes] [-w randread|randwrite|read|write|rw|randrw] [-M read%] [-t seconds] [-c threads]");
        System.exit(2);
    }

    /** One thread: its queue pair and {@code depth} tasks kept in flight. */
    private static final class Worker {
        final int index;
        final NvmeQpair qp;
        final NvmeNamespace ns;
        final Task[] tasks;
        final int nlb;
        final long span;
        final boolean random;
        final int readPercent;
        final long runNanos;
        final SplittableRandom rnd;
        long nextSeq;
        long ios, failed, latencySum, latencyMax;
        int firstError;
        double secs;
        boolean stopping;

        Worker(NvmeController c, NvmeNamespace ns, int index, int depth, int size, String workload, int readPercent, int seconds) {
            this.index = index;
            this.ns = ns;
            this.qp = c.createIoQpair(0);
            this.nlb = size / ns.blockSize();
            this.span = ns.numBlocks() / nlb;
            this.random = workload.startsWith("rand");
            this.readPercent = workload.endsWith("read") ? 100 : workload.endsWith("write") ? 0 : readPercent;
            this.runNanos = seconds * 1_000_000_000L;
            this.rnd = new SplittableRandom(index * 31L + 7);
            this.nextSeq = span / Math.max(1, c.maxIoQueues()) * index;
            this.tasks = new Task[depth];
            for (int i = 0; i < depth; i++) {
                tasks[i] = new Task(this, c.dma().allocate(size, 4096));
            }
        }

        void run() {
            long t0 = System.nanoTime();
            for (Task t : tasks) {
                t.submit();
            }
            while (qp.outstanding() > 0) {
                qp.processCompletions(0);
                if (!stopping && System.nanoTime() - t0 > runNanos) {
                    stopping = true;
                }
            }
            secs = (System.nanoTime() - t0) / 1e9;
        }

        long nextLba() {
            long block = random ? rnd.nextLong(span) : (nextSeq++ % span);
            return block * nlb;
        }
    }

    /** One I/O slot of a worker. */
    private static final class Task implements NvmeCompletion {
        final Worker w;
        final DmaBuffer buf;
        long start;

        Task(Worker w, DmaBuffer buf) {
            this.w = w;
            this.buf = buf;
        }

        void submit() {
            start = System.nanoTime();
            boolean read = w.readPercent == 100 || (w.readPercent > 0 && w.rnd.nextInt(100) < w.readPercent);
            long lba = w.nextLba();
            int rc = read ? w.qp.read(w.ns.nsid(), lba, w.nlb, buf.address(), buf.size(), this, null)
                    : w.qp.write(w.ns.nsid(), lba, w.nlb, buf.address(), buf.size(), this, null);
            if (rc == -Errno.ENODEV) {
                w.stopping = true; // the controller is gone (removed or failed): finish with what completed
                if (w.firstError == 0) {
                    w.firstError = rc;
                }
            } else if (rc < 0) {
                throw new IllegalStateException("submit failed: " + Errno.name(-rc));
            }
        }

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            long lat = System.nanoTime() - start;
            w.ios++;
            w.latencySum += lat;
            if (lat > w.latencyMax) {
                w.latencyMax = lat;
            }
            if (status == -Errno.ENODEV) {
                w.stopping = true;
            }
            if (status != 0) {
                w.failed++;
                if (w.firstError == 0) {
                    w.firstError = status;
                }
            }
            if (!w.stopping) {
                submit();
            }
        }
    }
}
