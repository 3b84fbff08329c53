package io.ustor.perf.jmh;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeQpair;
import io.ustor.nvme.model.NvmeControllerModel;
import io.ustor.nvme.model.NvmeModelOptions;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.MessageHandler;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Submit + complete of 4 KiB reads through the NVMe driver ({@link NvmeQpair}) against the in-memory controller
 * model, all on the benchmark thread: the driver submits (PRP setup, SQ entry, doorbell once per poll), the model is
 * stepped inline ({@link NvmeControllerModel#process()}: fetch, 4 KiB copy out of its RAM namespace (a 1 MiB span
 * of it, cache resident), completion with the phase tag), the driver polls the completion and the callback resubmits, keeping {@code depth} reads in flight.
 * One operation = one I/O; the time includes the model's share (mostly the 4 KiB copy), so it bounds the driver's
 * per-I/O cost from above. {@code reactorBytesPerOp} ({@link ReactorAllocation}) is what the I/O thread (here the benchmark thread) allocated per
 * I/O; {@code -prof gc}'s gc.alloc.rate.norm counts every thread of the JVM. {@code cpuNsPerOp}
 * ({@link ThreadCpuTime}) is the thread's CPU time per I/O: the score without the time spent waiting for a core.
 *
 * <p>{@code runner=reactor} runs the same loop on a reactor instead: the queue pair's completion poller and the
 * model's step are two pollers of one reactor, the benchmark thread only starts each batch with a message and waits
 * for its end ({@code reactorBytesPerOp} then counts the reactor thread; {@code cpuNsPerOp} does not apply).
 *
 * <p>Needs huge pages (the driver refuses queues in ordinary memory).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class NvmeModelSubmitBench {
    static final int BATCH = 1 << 14;
    private static final int BLOCK = 4096;
    /**
     * Blocks the reads cycle over: 1 MiB, so the model's copy is served from cache. Reading the whole 64 MiB
     * namespace makes the copy out of RAM most of the time (memory bandwidth, not the driver).
     */
    private static final long SPAN_BLOCKS = 256;

    @Param({"1", "32"})
    public int depth;

    /** inline: driver and model on the benchmark thread; reactor: both as pollers of one reactor. */
    @Param({"inline"})
    public String runner;

    /** The reactor's core with {@code runner=reactor}. */
    @Param({"1"})
    public int core;

    private ReactorGroup group;
    private PollerHandle[] pollers;

    private DmaMemory dma;
    private NvmeControllerModel model;
    private NvmeController ctrlr;
    private NvmeQpair qpair;
    private Driver driver;

    @Setup(Level.Trial)
    public void setup() {
        dma = DmaMemory.open(DmaOptions.defaults().withGrowthChunk(16L << 20));
        dma.requireDmaCapable("NvmeModelSubmitBench");
        model = NvmeControllerModel.create("Bench0", "0000:ff:00.0",
                NvmeModelOptions.defaults().withBlockSize(BLOCK).withNamespaceBytes(64L << 20));
        // attach and queue creation spin on admin completions: the model runs on its thread for them, then stops
        model.start();
        ctrlr = NvmeController.attach("Bench0", model.device(), dma, NvmeControllerOptions.defaults());
        qpair = ctrlr.createIoQpair(256);
        model.stop();
        driver = new Driver(model, qpair, dma, depth, Math.min(SPAN_BLOCKS, ctrlr.namespace(1).numBlocks()));
        if (runner.equals("reactor")) {
            group = ReactorGroup.start(CoreMask.of(core), ReactorOptions.defaults());
            Reactor r = group.reactor(0);
            CompletableFuture<PollerHandle[]> added = new CompletableFuture<>();
            NvmeControllerModel m = model;
            NvmeQpair qp = qpair;
            r.submit(() -> added.complete(new PollerHandle[]{
                    r.addPoller("nvme Bench0 qpair", () -> qp.processCompletions(0)),
                    r.addPoller("nvme model Bench0", m::process)}));
            pollers = join(added);
        } else if (!runner.equals("inline")) {
            throw new IllegalArgumentException("runner " + runner + ": inline or reactor");
        }
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (group != null) {
            Reactor r = group.reactor(0);
            CompletableFuture<Void> removed = new CompletableFuture<>();
            r.submit(() -> {
                for (PollerHandle h : pollers) {
                    h.unregister();
                }
                removed.complete(null);
            });
            join(removed);
            group.close();
        }
        model.start();
        ctrlr.deleteIoQpair(qpair);
        driver.free();
        ctrlr.close();
        model.close();
        dma.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long submitComplete(ReactorAllocation alloc, ThreadCpuTime cpu) {
        if (group != null) {
            Reactor r = group.reactor(0);
            driver.runOn(r);
            alloc.add(r.threadId(), BATCH);
            return 0;
        }
        long polls = driver.run();
        alloc.add(Thread.currentThread().threadId(), BATCH);
        cpu.add(BATCH);
        return polls;
    }

    /** Keeps {@code depth} reads in flight until {@link #BATCH} completed; stepping the model between polls. */
    static final class Driver implements NvmeCompletion, MessageHandler {
        private static final VarHandle DONE;

        static {
            try {
                DONE = MethodHandles.lookup().findVarHandle(Driver.class, "done", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") private volatile long done;
        private long rounds;
        private final NvmeControllerModel model;
        private final NvmeQpair qp;
        private final DmaBuffer[] buffers;
        private final long[] addresses;
        private final int depth;
        private final long numBlocks;
        private int left;
        private int inFlight;
        private long lba;
        private long errors;

        Driver(NvmeControllerModel model, NvmeQpair qp, DmaMemory dma, int depth, long numBlocks) {
            this.model = model;
            this.qp = qp;
            this.depth = depth;
            this.numBlocks = numBlocks;
            this.buffers = new DmaBuffer[depth];
            this.addresses = new long[depth];
            for (int i = 0; i < depth; i++) {
                buffers[i] = dma.allocate(BLOCK, BLOCK);
                addresses[i] = buffers[i].address();
            }
        }

        long run() {
            left = BATCH;
            for (int i = 0; i < depth; i++) {
                submit(i);
            }
            long polls = 0;
            while (inFlight > 0) {
                qp.processCompletions(0); // rings the SQ doorbell, completes, resubmits from the callback
                model.process();
                polls++;
            }
            qp.processCompletions(0);
            if (errors != 0) {
                throw new IllegalStateException(errors + " reads failed");
            }
            return polls;
        }

        /** Reactor mode: the message starts a batch on the reactor; its pollers do the rest. */
        @Override
        public void onMessage(Reactor r, Object arg, long value) {
            left = BATCH;
            for (int i = 0; i < depth; i++) {
                submit(i);
            }
        }

        void runOn(Reactor r) {
            long target = (long) DONE.getAcquire(this) + 1;
            while (!r.send(this, null, 0)) {
                Thread.onSpinWait();
            }
            while ((long) DONE.getAcquire(this) != target) {
                Thread.onSpinWait();
            }
            if (errors != 0) {
                throw new IllegalStateException(errors + " reads failed");
            }
        }

        private void submit(int slot) {
            left--;
            long at = lba;
            lba = lba + 1 == numBlocks ? 0 : lba + 1;
            // the buffer index travels as the argument without boxing: the slot's own Integer would allocate
            int rc = qp.read(1, at, 1, addresses[slot], BLOCK, this, SLOTS[slot]);
            if (rc != 0) {
                throw new IllegalStateException("submit failed: " + rc);
            }
            inFlight++;
        }

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            inFlight--;
            if (status != 0) {
                errors++;
            }
            if (left > 0) {
                submit((Integer) arg);
            } else if (inFlight == 0) {
                DONE.setRelease(this, ++rounds);
            }
        }

        void free() {
            for (DmaBuffer b : buffers) {
                b.free();
            }
        }

        /** Preboxed slot numbers (Integer.valueOf caches only up to 127; depth may be larger). */
        private static final Integer[] SLOTS = new Integer[1024];

        static {
            for (int i = 0; i < SLOTS.length; i++) {
                SLOTS[i] = i;
            }
        }
    }
}
