package io.ustor.perf.jmh;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.lang.management.ManagementFactory;

/**
 * Heap bytes the reactor thread allocated per operation in the current iteration, reported next to the score as
 * {@code reactorBytesPerOp}. {@code -prof gc}'s gc.alloc.rate.norm counts every thread of the JVM (JMH's own
 * threads included, about 0.5 MB/s whatever the benchmark does); this counts only the thread that runs the I/O path.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class ReactorAllocation {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Reported: reactor-thread bytes per operation so far in this iteration. */
    public double reactorBytesPerOp;

    private long threadId = -1;
    private long startBytes;
    private long ops;

    @Setup(Level.Iteration)
    public void reset() {
        ops = 0;
        reactorBytesPerOp = 0;
        threadId = -1;
    }

    /** Call after each invocation with the reactor's thread id and the operations the invocation did. */
    void add(long reactorThreadId, long invocationOps) {
        if (threadId != reactorThreadId) {
            threadId = reactorThreadId;
            startBytes = THREADS.getThreadAllocatedBytes(reactorThreadId);
            ops = 0;
            return;
        }
        ops += invocationOps;
        reactorBytesPerOp = (double) (THREADS.getThreadAllocatedBytes(reactorThreadId) - startBytes) / ops;
    }
}
