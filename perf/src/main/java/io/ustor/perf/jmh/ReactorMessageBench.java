package io.ustor.perf.jmh;

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

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * The reactor message queue: {@code crossThread} sends from the benchmark thread to a reactor that drains in its
 * loop (spinning while the queue is full); {@code onReactor} measures send + drain on the reactor itself, a chain of
 * messages each of which sends the next, which is how reactors hand work to each other and to themselves.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ReactorMessageBench {
    private static final int CHAIN = 4096;

    /** The reactor's core; the benchmark thread runs wherever the OS puts it. */
    @Param({"1"})
    public int core;

    private ReactorGroup group;
    private Reactor reactor;
    private final Counter counter = new Counter();
    private long sent;
    private final Chain chain = new Chain();

    /** Counts what the reactor drained. */
    static final class Counter implements MessageHandler {
        long received;

        @Override
        public void onMessage(Reactor r, Object arg, long value) {
            received += value;
        }
    }

    /** A message that sends itself again until the chain is done, then signals the waiting benchmark thread. */
    static final class Chain implements MessageHandler {
        private static final VarHandle DONE;

        static {
            try {
                DONE = MethodHandles.lookup().findVarHandle(Chain.class, "done", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") private volatile long done;
        private long rounds;

        @Override
        public void onMessage(Reactor r, Object arg, long left) {
            if (left > 1) {
                if (!r.send(this, arg, left - 1)) {
                    throw new IllegalStateException("reactor queue full on a one-message chain");
                }
            } else {
                DONE.setRelease(this, ++rounds);
            }
        }

        void runOn(Reactor r) {
            long target = (long) DONE.getAcquire(this) + 1;
            while (!r.send(this, null, CHAIN)) {
                Thread.onSpinWait();
            }
            while ((long) DONE.getAcquire(this) != target) {
                Thread.onSpinWait();
            }
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        group = ReactorGroup.start(CoreMask.of(core), ReactorOptions.defaults());
        reactor = group.reactor(0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        group.close();
    }

    @Benchmark
    public void crossThread(ReactorAllocation alloc) {
        while (!reactor.send(counter, null, 1)) {
            Thread.onSpinWait();
        }
        // Reading the reactor's allocation counter costs more than a send: sample it every 4096 sends.
        if ((++sent & 4095) == 0) {
            alloc.add(reactor.threadId(), 4096);
        }
    }

    @Benchmark
    @OperationsPerInvocation(CHAIN)
    public void onReactor(ReactorAllocation alloc) {
        chain.runOn(reactor);
        alloc.add(reactor.threadId(), CHAIN);
    }
}
