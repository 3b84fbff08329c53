package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * CPU affinity of the calling thread: pin it to a CPU (sched_setaffinity on tid 0, which the kernel reads as
 * "the calling thread"), ask where it runs (sched_getcpu) and which CPUs it may use (sched_getaffinity).
 * Control plane: each call allocates its cpu_set_t.
 */
public final class Affinity {
    /** glibc's cpu_set_t: 1024 bits. */
    private static final int CPU_SETSIZE = 1024;
    private static final long CPU_SET_BYTES = CPU_SETSIZE / 8;

    private static final MethodHandle SCHED_SETAFFINITY = Libc.capturingErrno("sched_setaffinity",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle SCHED_GETAFFINITY = Libc.capturingErrno("sched_getaffinity",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle SCHED_GETCPU = Libc.capturingErrno("sched_getcpu",
            FunctionDescriptor.of(JAVA_INT));

    private Affinity() {
    }

    /** Pins the calling thread to one CPU. Fails (EINVAL) when the CPU is offline or outside the allowed set. */
    public static void pinCurrentThread(int cpu) {
        pinCurrentThread(new int[]{cpu});
    }

    /** Restricts the calling thread to a set of CPUs. */
    public static void pinCurrentThread(int[] cpus) {
        if (cpus.length == 0) {
            throw new IllegalArgumentException("empty CPU set");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_BYTES, 8);
            for (int cpu : cpus) {
                if (cpu < 0 || cpu >= CPU_SETSIZE) {
                    throw new IllegalArgumentException("cpu " + cpu + " outside 0.." + (CPU_SETSIZE - 1));
                }
                long word = set.get(JAVA_LONG, (cpu >>> 6) * 8L);
                set.set(JAVA_LONG, (cpu >>> 6) * 8L, word | (1L << (cpu & 63)));
            }
            MemorySegment capture = Errno.newCaptureSegment(arena);
            int rc = (int) SCHED_SETAFFINITY.invokeExact(capture, 0, CPU_SET_BYTES, set);
            if (rc < 0) {
                int errno = Errno.get(capture);
                throw new NativeException("sched_setaffinity(this thread, cpus " + Arrays.toString(cpus) + ")", errno,
                        errno == Errno.EINVAL ? "Allowed CPUs are " + Arrays.toString(allowedCpus()) : null);
            }
        } catch (NativeException | IllegalArgumentException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("sched_setaffinity", t);
        }
    }

    /** The CPU the calling thread runs on right now (sched_getcpu). */
    public static int currentCpu() {
        try {
            MemorySegment capture = Errno.threadCapture();
            int cpu = (int) SCHED_GETCPU.invokeExact(capture);
            if (cpu < 0) {
                throw new NativeException("sched_getcpu()", Errno.get(capture));
            }
            return cpu;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("sched_getcpu", t);
        }
    }

    /** The CPUs the calling thread may run on, ascending (sched_getaffinity). */
    public static int[] allowedCpus() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(CPU_SET_BYTES, 8);
            MemorySegment capture = Errno.newCaptureSegment(arena);
            int rc = (int) SCHED_GETAFFINITY.invokeExact(capture, 0, CPU_SET_BYTES, set);
            if (rc < 0) {
                throw new NativeException("sched_getaffinity(this thread)", Errno.get(capture));
            }
            int count = 0;
            for (int w = 0; w < CPU_SETSIZE / 64; w++) {
                count += Long.bitCount(set.get(JAVA_LONG, w * 8L));
            }
            int[] cpus = new int[count];
            int n = 0;
            for (int w = 0; w < CPU_SETSIZE / 64; w++) {
                long word = set.get(JAVA_LONG, w * 8L);
                while (word != 0) {
                    cpus[n++] = w * 64 + Long.numberOfTrailingZeros(word);
                    word &= word - 1;
                }
            }
            return cpus;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("sched_getaffinity", t);
        }
    }
}
