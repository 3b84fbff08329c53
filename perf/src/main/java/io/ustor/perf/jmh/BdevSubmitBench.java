package io.ustor.perf.jmh;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.bdev.nullbdev.NullBdev;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.MessageHandler;
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

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Submit + complete through the bdev layer on one reactor: {@link #BATCH} 4 KiB reads (or writes) at a queue depth of
 * {@code depth} against a null or malloc bdev, each completion resubmitting from its callback, as bdevperf does.
 * One operation = one I/O. With {@code -prof gc}, gc.alloc.rate.norm is the heap allocated per I/O on all threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class BdevSubmitBench {
    static final int BATCH = 1 << 16;
    private static final int BLOCK = 4096;

    @Param({"null", "malloc"})
    public String bdev;

    @Param({"read", "write"})
    public String op;

    @Param({"32"})
    public int depth;

    @Param({"1"})
    public int core;

    private ReactorGroup group;
    private BdevRegistry registry;
    private BdevDesc desc;
    private Driver driver;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        group = ReactorGroup.start(CoreMask.of(core), ReactorOptions.defaults());
        registry = new BdevRegistry(group);
        long blocks = (64L << 20) / BLOCK;
        Bdev b = bdev.equals("null") ? NullBdev.create("Null0", blocks, BLOCK, null)
                : MallocBdev.create("Malloc0", blocks, BLOCK, null);
        registry.register(b);
        desc = registry.open(b.name(), true, (type, d) -> { });
        driver = new Driver(desc, depth, op.equals("write"), blocks);
        Reactor r = group.reactor(0);
        CompletableFuture<Void> ready = new CompletableFuture<>();
        r.submit(() -> {
            driver.channel = desc.getIoChannel();
            ready.complete(null);
        });
        ready.get(10, TimeUnit.SECONDS);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        Reactor r = group.reactor(0);
        CompletableFuture<Void> released = new CompletableFuture<>();
        r.submit(() -> {
            desc.putIoChannel(driver.channel);
            released.complete(null);
        });
        released.get(10, TimeUnit.SECONDS);
        desc.close();
        registry.unregister(bdev.equals("null") ? "Null0" : "Malloc0").get(10, TimeUnit.SECONDS);
        driver.free();
        group.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void submitComplete(ReactorAllocation alloc) {
        Reactor r = group.reactor(0);
        driver.runOn(r);
        alloc.add(r.threadId(), BATCH);
    }

    /** Runs one batch on the reactor: the message starts it, completions keep {@code depth} I/Os in flight. */
    static final class Driver implements MessageHandler, BdevIoCallback {
        private static final VarHandle DONE;

        static {
            try {
                DONE = MethodHandles.lookup().findVarHandle(Driver.class, "done", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final BdevDesc desc;
        private final int depth;
        private final boolean write;
        private final long numBlocks;
        private final DmaBuffer[] buffers;
        private final MemorySegment[] segments;
        BdevChannel channel;
        private int left;
        private int inFlight;
        private long offset;
        private long errors;
        private long rounds;
        @SuppressWarnings("unused") private volatile long done;

        Driver(BdevDesc desc, int depth, boolean write, long numBlocks) {
            this.desc = desc;
            this.depth = depth;
            this.write = write;
            this.numBlocks = numBlocks;
            this.buffers = new DmaBuffer[depth];
            this.segments = new MemorySegment[depth];
            for (int i = 0; i < depth; i++) {
                buffers[i] = DmaMemory.get().allocate(BLOCK, BLOCK);
                segments[i] = buffers[i].segment();
            }
        }

        @Override
        public void onMessage(Reactor r, Object arg, long value) {
            left = BATCH;
            for (int i = 0; i < depth; i++) {
                submit(i);
            }
        }

        private void submit(int slot) {
            left--;
            long lba = offset;
            offset = offset + 1 == numBlocks ? 0 : offset + 1;
            MemorySegment buf = segments[slot];
            int rc = write ? desc.write(channel, buf, lba, 1, this, buf) : desc.read(channel, buf, lba, 1, this, buf);
            if (rc != 0) {
                throw new IllegalStateException("submit failed: " + rc);
            }
            inFlight++;
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object cbArg) {
            inFlight--;
            if (!success) {
                errors++;
            }
            if (left > 0) {
                // Reuse the slot whose buffer came back: cbArg is that buffer.
                left--;
                long lba = offset;
                offset = offset + 1 == numBlocks ? 0 : offset + 1;
                MemorySegment buf = (MemorySegment) cbArg;
                int rc = write ? desc.write(channel, buf, lba, 1, this, buf) : desc.read(channel, buf, lba, 1, this, buf);
                if (rc != 0) {
                    throw new IllegalStateException("submit failed: " + rc);
                }
                inFlight++;
            } else if (inFlight == 0) {
                DONE.setRelease(this, ++rounds);
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
                throw new IllegalStateException(errors + " I/Os failed");
            }
        }

        void free() {
            for (DmaBuffer b : buffers) {
                b.free();
            }
        }
    }
}
