package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * clock_gettime(2) on a chosen clock. For the monotonic clock on a hot path use {@link #monotonicNanos()}: HotSpot
 * reads CLOCK_MONOTONIC through the vDSO for {@link System#nanoTime()} with no downcall overhead. The other clocks
 * (thread CPU time, for reactor busy accounting and tests) go through FFM with a per-thread timespec.
 */
public final class Clock {
    public static final int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2,
            CLOCK_THREAD_CPUTIME_ID = 3, CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5,
            CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7;

    private static final MethodHandle CLOCK_GETTIME = Libc.capturingErrno("clock_gettime",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle CLOCK_GETRES = Libc.capturingErrno("clock_getres",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    /** struct timespec { long tv_sec; long tv_nsec; }, one per thread. */
    private static final ThreadLocal<MemorySegment> TIMESPEC =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    private Clock() {
    }

    /** CLOCK_MONOTONIC in nanoseconds (System.nanoTime, which is that clock on Linux). */
    public static long monotonicNanos() {
        return System.nanoTime();
    }

    /** CPU time the calling thread has used, in nanoseconds. */
    public static long threadCpuNanos() {
        return nanos(CLOCK_THREAD_CPUTIME_ID);
    }

    /** CPU time the whole process has used, in nanoseconds. */
    public static long processCpuNanos() {
        return nanos(CLOCK_PROCESS_CPUTIME_ID);
    }

    /** clock_gettime(clockId) in nanoseconds; allocation-free after the thread's first call. */
    public static long nanos(int clockId) {
        return get(CLOCK_GETTIME, "clock_gettime", clockId);
    }

    /** clock_getres(clockId) in nanoseconds. */
    public static long resolutionNanos(int clockId) {
        return get(CLOCK_GETRES, "clock_getres", clockId);
    }

    private static long get(MethodHandle h, String name, int clockId) {
        MemorySegment ts = TIMESPEC.get();
        MemorySegment capture = Errno.threadCapture();
        int rc;
        try {
            rc = (int) h.invokeExact(capture, clockId, ts);
        } catch (Throwable t) {
            throw new IllegalStateException(name, t);
        }
        if (rc < 0) {
            throw new NativeException(name + "(clock " + clockId + ")", Errno.get(capture));
        }
        return ts.get(JAVA_LONG, 0) * 1_000_000_000L + ts.get(JAVA_LONG, 8);
    }
}
