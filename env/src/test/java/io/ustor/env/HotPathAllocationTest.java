package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The calls a reactor makes per I/O allocate nothing once warm (measured with the thread's allocation counter). */
class HotPathAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocatedBytes() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }

    private static final int ROUNDS = 10_000;

    /**
     * Runs {@code body} in batches of {@link #ROUNDS} until a batch allocates nothing (the JIT has compiled it:
     * interpreted FFM downcalls do allocate), at most 200 batches; returns the least a batch allocated. On a loaded
     * machine a batch can carry a few bytes that are not the body's (one was seen: 40 B per batch through 50 batches),
     * so callers check for less than a byte per round: anything allocated per call shows up as at least that.
     */
    private static long allocationsOf(Runnable body) {
        long least = Long.MAX_VALUE;
        for (int batch = 0; batch < 200 && least != 0; batch++) {
            long before = allocatedBytes();
            for (int i = 0; i < ROUNDS; i++) {
                body.run();
            }
            least = Math.min(least, allocatedBytes() - before);
        }
        return least;
    }

    @Test
    void iobufGetPutHandoffAndIovaAllocateNothing() {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled());
        try (DmaMemory memory = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withGrowthChunk(4 << 20));
             IoBufferPool pool = IoBufferPool.create(IoBufferPoolOptions.defaults().withSmall(4096, 64).withLarge(65536, 8)
                     .withCacheSizes(8, 2), memory);
             IoBufferCache cache = pool.createCache("r0")) {
            MemorySegment[] held = new MemorySegment[12];
            long[] sink = new long[1];
            IoBufferWaiter waiter = new IoBufferWaiter() {
                @Override
                public void onBufferAvailable(MemorySegment buffer) {
                    cache.put(buffer);
                }
            };
            long bytes = allocationsOf(() -> {
                for (int i = 0; i < held.length; i++) {
                    held[i] = cache.get(i % 3 == 0 ? 65536 : 512, null);
                    sink[0] += pool.iova(held[i]);
                }
                for (MemorySegment s : held) {
                    cache.put(s);
                }
                // Exhaust the large class, queue a waiter, hand a buffer to it on put.
                MemorySegment a = null;
                MemorySegment b;
                int n = 0;
                while ((b = cache.get(65536, waiter)) != null) {
                    if (a == null) {
                        a = b;
                    } else {
                        held[n++] = b;
                    }
                }
                cache.put(a);
                for (int i = 0; i < n; i++) {
                    cache.put(held[i]);
                }
                sink[0] += cache.waits();
            });
            assertTrue(bytes < ROUNDS, "iobuf hot path allocated " + bytes + " bytes per " + ROUNDS + " rounds even when warm");
            assertTrue(sink[0] != 0);
            assertTrue(cache.largeStats().handoffs() > 0, "the waiter path ran");
            assertEquals(0, cache.buffersOut());
        }
    }

    @Test
    void eventFdAndRawSyscallsAllocateNothing() {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled());
        try (EventFd e = EventFd.create(true); Arena arena = Arena.ofConfined()) {
            int fd = MemFd.create("hot", 8192, MemFd.MFD_CLOEXEC);
            MemorySegment buf = arena.allocate(4096, 4096);
            try {
                long bytes = allocationsOf(() -> {
                    e.signal();
                    e.drain();
                    e.await(0);
                    Posix.pwriteRaw(fd, buf, 4096, 4096);
                    Posix.preadRaw(fd, buf, 4096, 0);
                    Syscall.raw(Syscall.SYS_GETTID);
                    Clock.threadCpuNanos();
                });
                assertTrue(bytes < ROUNDS, "allocated " + bytes + " bytes per " + ROUNDS + " rounds even when warm");
            } finally {
                Posix.close(fd);
            }
        }
    }
}
