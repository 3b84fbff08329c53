package io.ustor.env;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IoBufferPoolTest {
    private DmaMemory memory;

    /** Records the buffers it is handed. */
    static final class RecordingWaiter extends IoBufferWaiter {
        final List<MemorySegment> got = new ArrayList<>();
        final List<String> log;
        final String name;

        RecordingWaiter(String name, List<String> log) {
            this.name = name;
            this.log = log;
        }

        @Override
        public void onBufferAvailable(MemorySegment buffer) {
            got.add(buffer);
            log.add(name);
        }
    }

    @BeforeEach
    void openMemory() {
        memory = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withGrowthChunk(8 << 20));
    }

    @AfterEach
    void closeMemory() {
        memory.close();
    }

    private IoBufferPool pool(int smallCount, int largeCount, int smallCache, int largeCache) {
        return IoBufferPool.create(IoBufferPoolOptions.defaults().withSmall(8192, smallCount).withLarge(132 * 1024, largeCount)
                .withCacheSizes(smallCache, largeCache), memory);
    }

    @Test
    void defaultsAreSpdks() {
        IoBufferPoolOptions o = IoBufferPoolOptions.defaults();
        assertEquals(8192, o.smallBufferSize());
        assertEquals(8192, o.smallPoolCount());
        assertEquals(135168, o.largeBufferSize());
        assertEquals(1024, o.largePoolCount());
    }

    @Test
    void getPicksTheSizeClassAndBuffersAreAlignedDistinctAndTranslatable() {
        try (IoBufferPool pool = pool(16, 4, 4, 2); IoBufferCache cache = pool.createCache("reactor0")) {
            MemorySegment s = cache.get(512, null);
            MemorySegment s2 = cache.get(8192, null);
            MemorySegment l = cache.get(8193, null);
            assertEquals(8192, s.byteSize());
            assertEquals(132 * 1024, l.byteSize());
            assertEquals(0, s.address() % 4096);
            assertEquals(0, l.address() % 4096);
            assertTrue(s.address() != s2.address());
            assertEquals(s.address(), pool.iova(s), "IOVA = VA for this memory");
            assertEquals(memory.iova(l.asSlice(100)), pool.iova(l.asSlice(100)));
            assertFalse(pool.dmaCapable());
            assertThrows(IllegalStateException.class, () -> pool.requireDmaCapable("nvme0"));
            assertThrows(IllegalArgumentException.class, () -> cache.get(132 * 1024 + 1, null));
            assertEquals(3, cache.buffersOut());
            cache.put(s);
            cache.put(s2);
            cache.put(l);
            assertEquals(0, cache.buffersOut());
        }
    }

    @Test
    void exhaustedPoolQueuesTheWaiterAndPutHandsTheBufferStraightToIt() {
        try (IoBufferPool pool = pool(2, 1, 0, 0); IoBufferCache cache = pool.createCache("r0")) {
            List<String> log = new ArrayList<>();
            MemorySegment a = cache.get(4096, null);
            MemorySegment b = cache.get(4096, null);
            assertNotNull(a);
            assertNotNull(b);
            RecordingWaiter w1 = new RecordingWaiter("w1", log), w2 = new RecordingWaiter("w2", log);
            assertNull(cache.get(4096, w1));
            assertNull(cache.get(100, w2));
            assertTrue(w1.isWaiting());
            assertEquals(2, cache.waits());
            assertEquals(2, cache.waiters());
            assertThrows(IllegalStateException.class, () -> cache.get(10, w1), "a waiter queues once");

            cache.put(b);
            assertEquals(List.of("w1"), log, "first come, first served");
            assertSame(b, w1.got.getFirst());
            assertFalse(w1.isWaiting());
            assertEquals(1, cache.waiters());
            cache.put(a);
            assertEquals(List.of("w1", "w2"), log);
            assertSame(a, w2.got.getFirst());
            assertEquals(0, cache.waiters());
            assertEquals(2, cache.smallStats().handoffs());
            assertEquals(2, cache.buffersOut(), "the waiters hold them now");
            cache.put(w1.got.getFirst());
            cache.put(w2.got.getFirst());
            assertEquals(2, pool.smallAvailable());
        }
    }

    @Test
    void newGetsQueueBehindWaitersAndCancelRemovesOne() {
        try (IoBufferPool pool = pool(1, 1, 0, 0); IoBufferCache cache = pool.createCache("r0")) {
            List<String> log = new ArrayList<>();
            MemorySegment only = cache.get(1, null);
            RecordingWaiter w1 = new RecordingWaiter("w1", log), w2 = new RecordingWaiter("w2", log),
                    w3 = new RecordingWaiter("w3", log);
            assertNull(cache.get(1, w1));
            assertNull(cache.get(1, w2));
            assertNull(cache.get(1, w3));
            assertTrue(cache.cancel(w2));
            assertFalse(cache.cancel(w2));
            assertFalse(w2.isWaiting());
            cache.put(only);
            cache.put(w1.got.getFirst());
            assertEquals(List.of("w1", "w3"), log);
            cache.put(w3.got.getFirst());
            assertFalse(cache.hasWaiters());
            assertNotNull(cache.get(1, null));
        }
    }

    @Test
    void waiterMayAskAgainFromItsCallback() {
        try (IoBufferPool pool = pool(1, 1, 0, 0); IoBufferCache cache = pool.createCache("r0")) {
            MemorySegment only = cache.get(1, null);
            List<MemorySegment> got = new ArrayList<>();
            IoBufferWaiter greedy = new IoBufferWaiter() {
                @Override
                public void onBufferAvailable(MemorySegment buffer) {
                    got.add(buffer);
                    assertNull(cache.get(1, this), "pool is empty again, so it queues itself once more");
                }
            };
            assertNull(cache.get(1, greedy));
            cache.put(only);
            assertEquals(1, got.size());
            assertTrue(greedy.isWaiting());
            cache.put(got.getFirst());
            assertEquals(2, got.size());
            assertTrue(cache.cancel(greedy));
            cache.put(got.get(1));
        }
    }

    @Test
    void cacheMovesBuffersToAndFromThePoolInBatches() {
        try (IoBufferPool pool = pool(64, 4, 8, 2); IoBufferCache cache = pool.createCache("r0")) {
            // Cache of 8: batch of 4. The first get takes 4 from the pool and keeps 3.
            MemorySegment first = cache.get(1, null);
            assertEquals(60, pool.smallAvailable());
            assertEquals(3, cache.smallStats().cached());
            assertEquals(1, cache.globalGets());
            List<MemorySegment> held = new ArrayList<>(List.of(first));
            for (int i = 0; i < 3; i++) {
                held.add(cache.get(1, null));
            }
            assertEquals(3, cache.cacheHits());
            assertEquals(60, pool.smallAvailable(), "cache hits do not touch the pool");
            for (int i = 0; i < 12; i++) {
                held.add(cache.get(1, null));
            }
            assertEquals(16, held.size());
            assertEquals(16, new HashSet<>(held).size(), "all distinct");
            assertEquals(48, pool.smallAvailable());
            for (MemorySegment s : held) {
                cache.put(s);
            }
            // Puts fill the cache to 8, then each overflow returns a batch of 4 to the pool.
            IoBufferStats st = cache.smallStats();
            assertTrue(st.cached() <= 8, "cache never holds more than its size: " + st);
            assertEquals(64, pool.smallAvailable() + st.cached());
            assertEquals(0, st.buffersOut());
            cache.close();
            assertEquals(64, pool.smallAvailable(), "close returns the cached buffers");
            assertThrows(IllegalStateException.class, () -> cache.get(1, null));
        }
    }

    @Test
    void pollServesWaitersFromBuffersReturnedThroughAnotherCache() {
        try (IoBufferPool pool = pool(4, 1, 0, 0);
             IoBufferCache a = pool.createCache("r0", 0, 0);
             IoBufferCache b = pool.createCache("r1", 0, 0)) {
            List<MemorySegment> held = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                held.add(a.get(1, null));
            }
            List<String> log = new ArrayList<>();
            RecordingWaiter w = new RecordingWaiter("w", log);
            assertNull(b.get(1, w));
            assertEquals(0, b.poll(), "nothing free yet");
            a.put(held.removeFirst());
            assertTrue(log.isEmpty(), "a put on another cache does not call b's waiter");
            assertEquals(1, b.poll());
            assertEquals(List.of("w"), log);
            assertEquals(0, b.poll(), "idle when nobody waits");
            assertEquals(1, b.globalGets());
            assertEquals(1, b.buffersOut());
            b.put(w.got.getFirst());
            for (MemorySegment s : held) {
                a.put(s);
            }
            assertEquals(4, pool.smallAvailable());
        }
    }

    @Test
    void misuseIsCaught() {
        try (IoBufferPool pool = pool(4, 1, 2, 1); IoBufferCache cache = pool.createCache("r0")) {
            MemorySegment s = cache.get(1, null);
            cache.put(s);
            assertThrows(IllegalStateException.class, () -> cache.put(s), "double put");
            MemorySegment t = cache.get(1, null);
            assertThrows(IllegalArgumentException.class, () -> cache.put(t.asSlice(64)), "interior address");
            assertThrows(IllegalArgumentException.class, () -> cache.put(java.lang.foreign.Arena.ofAuto().allocate(8192)));
            cache.put(t);
            assertThrows(IllegalStateException.class, () -> pool.createCache("too-big", 3, 0),
                    "caches may not hold more buffers than the pool has");
        }
    }

    @Test
    void poolGetAndPutFromAnyThread() throws Exception {
        try (IoBufferPool pool = pool(32, 2, 0, 0)) {
            Set<Long> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = new Thread(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        MemorySegment s = pool.tryGet(100);
                        if (s != null) {
                            seen.add(s.address());
                            pool.put(s);
                        }
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(32, pool.smallAvailable(), "every buffer is back exactly once");
            assertTrue(seen.size() <= 32);
            Set<Long> all = new HashSet<>();
            MemorySegment s;
            while ((s = pool.tryGet(1)) != null) {
                assertTrue(all.add(s.address()), "no buffer is in the free list twice");
            }
            assertEquals(32, all.size());
        }
    }
}
