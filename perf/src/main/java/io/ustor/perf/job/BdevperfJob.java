package io.ustor.perf.job;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.IoType;
import io.ustor.env.Clock;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.perf.JobResult;
import io.ustor.perf.Workload;
import io.ustor.reactor.MessageHandler;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One bdevperf job: a bdev driven at a fixed queue depth from one reactor until its time is up. Everything the I/O
 * loop touches is made up front (tasks, buffers, histogram); after {@link #start} only that reactor runs this code,
 * and a completion resubmits its own task, so steady state allocates nothing and takes no locks.
 */
public final class BdevperfJob {
    private static final VarHandle COMPLETED, FAILED;
    /** Latencies above an hour are clamped, so recording never resizes the histogram. */
    private static final long MAX_TRACKED_NANOS = 3_600_000_000_000L;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COMPLETED = l.findVarHandle(BdevperfJob.class, "ioCompleted", long.class);
            FAILED = l.findVarHandle(BdevperfJob.class, "ioFailed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final JobSpec spec;
    private final Reactor reactor;
    private final BdevDesc desc;
    private final Bdev bdev;
    private final PrintStream log;
    private final int blockSize;
    private final int ioSizeBlocks;
    private final long iosBase;
    private final long sizeInIos;
    private final int queueDepth;
    private final boolean verify;
    /** Verify compares data only where the bdev keeps it; a null bdev discards writes by design. */
    private final boolean compareData;
    private final IoType fixedType;   // unmap/flush/write_zeroes; null for read/write patterns
    private final Xorshift rng;
    private final long[] outstanding; // verify: one bit per I/O unit in flight
    private final BdevperfTask[] tasks;
    private final List<DmaBuffer> buffers = new ArrayList<>();
    private final Histogram histogram;
    private final CompletableFuture<JobResult> done = new CompletableFuture<>();

    private BdevChannel channel;
    private PollerHandle timer;
    private final LoopClock clock = new LoopClock();
    private PollerHandle clockPoller;
    private long nextSequential;
    private long writeSequence;
    private int inFlight;
    private boolean draining;
    private boolean failedRun;
    private long startNanos, endNanos;
    private long startCpuNanos, endCpuNanos;
    // Written by the reactor, read (opaque) by the progress printer.
    @SuppressWarnings("unused") private long ioCompleted;
    @SuppressWarnings("unused") private long ioFailed;

    /**
     * Builds the job on a control thread: sizes the I/O unit, makes the tasks and their buffers. Throws
     * IllegalArgumentException when the I/O size does not fit the bdev (the message is SPDK's).
     */
    public BdevperfJob(JobSpec spec, Reactor reactor, BdevDesc desc, DmaMemory memory, PrintStream log) {
        this.spec = spec;
        this.reactor = reactor;
        this.desc = desc;
        this.bdev = desc.bdev();
        this.log = log;
        this.blockSize = bdev.blockSize();
        if (spec.ioSize() % blockSize != 0) {
            throw new IllegalArgumentException("IO size (" + spec.ioSize() + ") is not multiples of data block size of bdev "
                    + bdev.name() + " (" + blockSize + ")");
        }
        this.ioSizeBlocks = spec.ioSize() / blockSize;
        long sliceBlocks = spec.lengthBlocks() != 0 ? spec.lengthBlocks() : bdev.numBlocks() - spec.offsetBlocks();
        this.sizeInIos = sliceBlocks / ioSizeBlocks;
        this.iosBase = spec.offsetBlocks() / ioSizeBlocks;
        if (sizeInIos <= 0) {
            throw new IllegalArgumentException("bdev " + bdev.name() + " (" + bdev.numBlocks() + " blocks of " + blockSize
                    + ") is smaller than one I/O of " + spec.ioSize() + " bytes");
        }
        Workload w = spec.workload();
        this.verify = w == Workload.VERIFY;
        this.compareData = verify && !"null".equals(bdev.moduleName());
        if (verify && !compareData) {
            log.printf("bdev %s (module %s) discards data: verify checks that every write and read-back completes,"
                    + " not the data%n", bdev.name(), bdev.moduleName());
        }
        this.fixedType = switch (w) {
            case UNMAP -> IoType.UNMAP;
            case FLUSH -> IoType.FLUSH;
            case WRITE_ZEROES -> IoType.WRITE_ZEROES;
            default -> null;
        };
        int depth = spec.queueDepth();
        if (verify) {
            if (sizeInIos >= Integer.MAX_VALUE) {
                throw new IllegalArgumentException("bdev " + bdev.name() + " is too large for verify (" + sizeInIos + " I/O units)");
            }
            if (depth > sizeInIos) {
                log.printf("Due to constraints of verify job, queue depth (-q, %d) can't exceed the number of IO requests"
                        + " which can be submitted to the bdev %s simultaneously (%d). Queue depth is limited to %d%n",
                        depth, bdev.name(), sizeInIos, sizeInIos);
                depth = (int) sizeInIos;
            }
            this.outstanding = new long[(int) ((sizeInIos + 63) >>> 6)];
        } else {
            this.outstanding = null;
        }
        this.queueDepth = depth;
        this.rng = new Xorshift(spec.seed());
        this.histogram = new Histogram(MAX_TRACKED_NANOS, 3);
        this.tasks = new BdevperfTask[depth];
        boolean needsData = fixedType == null;
        for (int i = 0; i < depth; i++) {
            DmaBuffer data = needsData ? allocate(memory, spec.ioSize()) : null;
            DmaBuffer back = verify ? allocate(memory, spec.ioSize()) : null;
            tasks[i] = new BdevperfTask(this, data == null ? null : data.segment(), back == null ? null : back.segment());
        }
    }

    private DmaBuffer allocate(DmaMemory memory, int size) {
        DmaBuffer b = memory.allocate(size, 4096);
        buffers.add(b);
        return b;
    }

    public JobSpec spec() {
        return spec;
    }

    public String name() {
        return bdev.name();
    }

    public Reactor reactor() {
        return reactor;
    }

    /** I/O units in the verify range; SPDK prints it. */
    public long sizeInIos() {
        return sizeInIos;
    }

    public long iosBase() {
        return iosBase;
    }

    public int queueDepth() {
        return queueDepth;
    }

    /** Completed I/Os so far; any thread. */
    public long completedSoFar() {
        return (long) COMPLETED.getOpaque(this);
    }

    /** Failed I/Os so far; any thread. */
    public long failedSoFar() {
        return (long) FAILED.getOpaque(this);
    }

    /** Completes (on this job's reactor) when the job has drained and released its channel. */
    public CompletableFuture<JobResult> done() {
        return done;
    }

    /** Starts the I/O loop; call on this job's reactor. */
    public void start() {
        // The clock first, so it ticks before the bdev channel's poller completes I/Os in the same loop.
        clock.poll();
        clockPoller = reactor.addPoller("bdevperf clock " + bdev.name(), clock);
        channel = desc.getIoChannel();
        timer = reactor.addTimedPoller("bdevperf " + bdev.name(), this::onTimeUp, spec.timeNanos());
        startNanos = clock.now();
        startCpuNanos = Clock.threadCpuNanos();
        for (BdevperfTask t : tasks) {
            t.submitNanos = startNanos;
            next(t);
            if (draining) {
                break;
            }
        }
        if (draining && inFlight == 0) {
            finish();
        }
    }

    /** Stops submitting; the job finishes when its last I/O is back. Call on this job's reactor. */
    public void drain() {
        if (!draining) {
            draining = true;
            if (timer != null) {
                timer.unregister();
                timer = null;
            }
        }
    }

    /** Stops the job from outside its I/O loop (bdev removed, shutdown signal); call on this job's reactor. */
    public void stop() {
        drain();
        if (inFlight == 0) {
            finish();
        }
    }

    private int onTimeUp() {
        stop();
        return 1;
    }

    /** Picks the next offset and operation for {@code t} and submits it. */
    private void next(BdevperfTask t) {
        long unit;
        if (spec.workload().random()) {
            unit = rng.nextBelow(sizeInIos);
        } else {
            unit = nextSequentialUnit();
        }
        t.offsetBlocks = (unit + iosBase) * ioSizeBlocks;
        t.readingBack = false;
        if (fixedType != null) {
            t.type = fixedType;
        } else {
            int read = spec.readPercentage();
            boolean isRead = read == 100 || (read != 0 && rng.nextBelow(100) < read);
            t.type = isRead ? IoType.READ : IoType.WRITE;
            if (verify) {
                VerifyPattern.fill(t.buf, blockSize, ioSizeBlocks, t.offsetBlocks, ++writeSequence);
            }
        }
        submit(t);
    }

    private long nextSequentialUnit() {
        long unit = nextSequential;
        if (++nextSequential == sizeInIos) {
            nextSequential = 0;
        }
        if (verify) {
            // Never two I/Os on one unit at a time: its read-back would race the other write.
            while (bitSet(unit)) {
                unit = nextSequential;
                if (++nextSequential == sizeInIos) {
                    nextSequential = 0;
                }
            }
            outstanding[(int) (unit >>> 6)] |= 1L << unit;
        }
        return unit;
    }

    private boolean bitSet(long unit) {
        return (outstanding[(int) (unit >>> 6)] & (1L << unit)) != 0;
    }

    private void clearBit(BdevperfTask t) {
        long unit = t.offsetBlocks / ioSizeBlocks - iosBase;
        outstanding[(int) (unit >>> 6)] &= ~(1L << unit);
    }

    /** Submits the task's current I/O; also the retry path after -ENOMEM. */
    void submit(BdevperfTask t) {
        long n = ioSizeBlocks;
        int rc = switch (t.type) {
            case READ -> desc.read(channel, t.readingBack ? t.readBuf : t.buf, t.offsetBlocks, n, t, null);
            case WRITE -> desc.write(channel, t.buf, t.offsetBlocks, n, t, null);
            case UNMAP -> desc.unmap(channel, t.offsetBlocks, n, t, null);
            case FLUSH -> desc.flush(channel, t.offsetBlocks, n, t, null);
            case WRITE_ZEROES -> desc.writeZeroes(channel, t.offsetBlocks, n, t, null);
            default -> -Errno.EINVAL;
        };
        if (rc == 0) {
            inFlight++;
        } else if (rc == -Errno.ENOMEM) {
            rc = desc.queueIoWait(channel, t);
            if (rc != 0) {
                submitFailed(t, rc);
            }
        } else {
            submitFailed(t, rc);
        }
    }

    private void submitFailed(BdevperfTask t, int rc) {
        log.printf("Failed to submit bdev_io: %d (%s) on job bdev=%s offset %d%n", rc, Errno.name(-rc), bdev.name(), t.offsetBlocks);
        if (verify) {
            clearBit(t);
        }
        failedRun = true;
        drain();
        if (inFlight == 0) {
            scheduleFinish();
        }
    }

    /** The task's I/O is back. */
    void onComplete(BdevperfTask t, boolean success) {
        inFlight--;
        if (verify && success && !t.readingBack && t.type == IoType.WRITE) {
            // The pattern is on the bdev; read it back into the second buffer with the same task.
            t.readingBack = true;
            t.type = IoType.READ;
            submit(t);
            return;
        }
        long now = clock.now();
        long latency = now - t.submitNanos;
        histogram.recordValue(latency < MAX_TRACKED_NANOS ? latency : MAX_TRACKED_NANOS);
        if (!success) {
            FAILED.setOpaque(this, ioFailed + 1);
            if (!spec.continueOnFailure()) {
                log.printf("task offset: %d on job bdev=%s fails%n", t.offsetBlocks, bdev.name());
                failedRun = true;
                drain();
            }
        } else {
            COMPLETED.setOpaque(this, ioCompleted + 1);
            if (compareData && t.readingBack) {
                long at = VerifyPattern.firstMismatch(t.buf, t.readBuf, spec.ioSize());
                if (at >= 0) {
                    log.printf("Buffer mismatch! Target: %s Disk Offset: %d (block %d, byte %d of the I/O)%n",
                            bdev.name(), t.offsetBlocks, t.offsetBlocks + at / blockSize, at);
                    failedRun = true;
                    drain();
                }
            }
        }
        if (verify) {
            clearBit(t);
        }
        if (!draining) {
            t.submitNanos = now;
            next(t);
        } else if (inFlight == 0) {
            scheduleFinish();
        }
    }

    /** Finishes from the reactor loop, not from inside the layer's callback: the channel may go away with the put. */
    private void scheduleFinish() {
        if (!reactor.send(FINISH, this, 0)) {
            finish();
        }
    }

    private static final MessageHandler FINISH = (r, job, unused) -> ((BdevperfJob) job).finish();

    private void finish() {
        if (done.isDone() || channel == null) {
            return;
        }
        endNanos = System.nanoTime();
        endCpuNanos = Clock.threadCpuNanos();
        desc.putIoChannel(channel);
        channel = null;
        clockPoller.unregister();
        done.complete(result());
    }

    /** Frees the buffers; call after {@link #done()} completed. */
    public void release() {
        for (DmaBuffer b : buffers) {
            b.free();
        }
        buffers.clear();
    }

    /** True when an I/O failed or verify miscompared. */
    public boolean failedRun() {
        return failedRun;
    }

    /** The job's latency histogram (nanoseconds); read it after {@link #done()} completed. */
    public Histogram histogram() {
        return histogram;
    }

    private JobResult result() {
        double seconds = Math.max(1, endNanos - startNanos) / 1e9;
        long completed = ioCompleted;
        long failed = ioFailed;
        double iops = completed / seconds;
        Histogram h = histogram;
        boolean any = h.getTotalCount() > 0;
        return new JobResult(bdev.name(), "0x" + Long.toHexString(1L << reactor.core()), reactor.core(), spec.workload(),
                spec.readPercentage(), failedRun ? "failed" : "finished", queueDepth, spec.ioSize(), seconds, completed,
                failed, iops, iops * spec.ioSize() / (1024.0 * 1024.0), failed / seconds,
                any ? h.getMean() / 1e3 : 0, any ? h.getMinValue() / 1e3 : 0, any ? h.getMaxValue() / 1e3 : 0,
                any ? h.getValueAtPercentile(50) / 1e3 : 0, any ? h.getValueAtPercentile(99) / 1e3 : 0,
                any ? h.getValueAtPercentile(99.9) / 1e3 : 0,
                verify ? iosBase : -1, verify ? sizeInIos : 0, (endCpuNanos - startCpuNanos) / 1e9);
    }
}
