package io.ustor.env.internal;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MpmcIntQueueTest {
    @Test
    void fifoBoundedAndEmpty() {
        MpmcIntQueue q = new MpmcIntQueue(3);
        assertEquals(4, q.capacity());
        assertEquals(-1, q.poll());
        for (int i = 0; i < 4; i++) {
            assertTrue(q.offer(i));
        }
        assertFalse(q.offer(9), "full");
        assertEquals(4, q.size());
        for (int i = 0; i < 4; i++) {
            assertEquals(i, q.poll());
        }
        assertEquals(-1, q.poll());
        assertEquals(0, q.size());
    }

    @Test
    void concurrentProducersAndConsumersNeitherLoseNorDuplicate() throws Exception {
        int values = 1024;
        MpmcIntQueue q = new MpmcIntQueue(values);
        for (int i = 0; i < values; i++) {
            q.offer(i);
        }
        // Each thread moves values out and back in; at the end every value must be there exactly once.
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                int[] held = new int[8];
                for (int round = 0; round < 20_000; round++) {
                    int n = 0;
                    while (n < held.length) {
                        int v = q.poll();
                        if (v < 0) {
                            break;
                        }
                        held[n++] = v;
                    }
                    for (int i = 0; i < n; i++) {
                        while (!q.offer(held[i])) {
                            Thread.onSpinWait();
                        }
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        AtomicIntegerArray seen = new AtomicIntegerArray(values);
        int v;
        int count = 0;
        while ((v = q.poll()) >= 0) {
            assertEquals(0, seen.getAndIncrement(v), "value " + v + " twice");
            count++;
        }
        assertEquals(values, count);
    }
}
