package io.ustor.reactor.internal;

import io.ustor.reactor.MessageHandler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MessageQueueTest {
    private static final MessageHandler H = (r, a, v) -> { };

    @Test
    void capacityRoundsUpToPowerOfTwo() {
        assertEquals(2, new MessageQueue(2).capacity());
        assertEquals(4, new MessageQueue(3).capacity());
        assertEquals(1024, new MessageQueue(1000).capacity());
        assertEquals(1024, new MessageQueue(1024).capacity());
    }

    @Test
    void fullQueueRefusesAndKeepsWhatItAccepted() {
        MessageQueue q = new MessageQueue(8);
        for (int i = 0; i < 8; i++) {
            assertTrue(q.offer(H, "m" + i, i));
        }
        assertFalse(q.offer(H, "overflow", 99));
        assertEquals(8, q.size());
        for (int lap = 0; lap < 3; lap++) { // wrap around several times
            for (int i = 0; i < 8; i++) {
                assertTrue(q.poll());
                assertSame(H, q.handler);
                assertEquals(lap * 8L + i, q.value);
                assertTrue(q.offer(H, null, (lap + 1) * 8L + i));
                assertFalse(q.offer(H, null, -1));
            }
        }
        assertEquals(8, q.size());
    }

    @Test
    void emptyQueuePollsFalse() {
        MessageQueue q = new MessageQueue(4);
        assertFalse(q.poll());
        q.offer(H, "x", 1);
        assertTrue(q.poll());
        assertEquals("x", q.arg);
        q.clearCurrent();
        assertNull(q.arg);
        assertFalse(q.poll());
    }

    @Test
    void closeRefusesLaterOffers() {
        MessageQueue q = new MessageQueue(4);
        assertTrue(q.offer(H, null, 1));
        q.close();
        assertTrue(q.isClosed());
        assertFalse(q.offer(H, null, 2));
        assertEquals(1, q.tail());
        assertTrue(q.poll());
        assertEquals(1, q.value);
        assertFalse(q.poll());
    }

    @Test
    void manyProducersOneConsumerLoseNothingAndKeepPerProducerOrder() throws Exception {
        int producers = 3, perProducer = 100_000;
        MessageQueue q = new MessageQueue(1024);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        long[] refused = new long[producers];
        for (int p = 0; p < producers; p++) {
            int id = p;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perProducer; i++) {
                    while (!q.offer(H, null, ((long) id << 32) | i)) {
                        refused[id]++;
                        Thread.yield(); // 2 cores shared by 3 producers and the consumer
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        go.countDown();
        int[] next = new int[producers];
        long received = 0;
        while (received < (long) producers * perProducer) {
            if (q.poll()) {
                int id = (int) (q.value >>> 32);
                int seq = (int) q.value;
                assertEquals(next[id], seq, "producer " + id + " out of order");
                next[id]++;
                received++;
            } else {
                Thread.yield();
            }
        }
        for (Thread t : threads) {
            t.join();
        }
        assertFalse(q.poll());
        for (int p = 0; p < producers; p++) {
            assertEquals(perProducer, next[p]);
        }
    }
}
