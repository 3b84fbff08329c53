package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static io.ustor.reactor.Reactors.on;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdleAndShutdownTest {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    @Test
    void adaptiveIdleReactorUsesLittleCpuAndWakesOnSend() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            // A poller and a timed poller are registered, as in a daemon; neither finds work.
            on(r, () -> r.addPoller("idle-poller", () -> 0));
            on(r, () -> r.addTimedPoller("idle-timer", () -> 0, 10_000_000L));
            Thread.sleep(100); // let it settle into sleeping
            long cpu0 = THREADS.getThreadCpuTime(r.threadId());
            long wall0 = System.nanoTime();
            Thread.sleep(1000);
            long cpu = THREADS.getThreadCpuTime(r.threadId()) - cpu0;
            long wall = System.nanoTime() - wall0;
            System.out.println("idle ADAPTIVE reactor with pollers: " + cpu / 1000 + " us CPU in " + wall / 1000
                    + " us, " + r.stats());
            assertTrue(cpu < wall / 5, "idle reactor used " + cpu / 1_000_000 + " ms CPU in " + wall / 1_000_000
                    + " ms");
            assertTrue(r.stats().sleeps() > 0);
            // Wakes on a send, far sooner than any idle timeout would end the sleep by itself.
            for (int i = 0; i < 5; i++) {
                Thread.sleep(50);
                CompletableFuture<Long> ran = new CompletableFuture<>();
                long sent = System.nanoTime();
                assertTrue(r.send((re, a, v) -> ran.complete(System.nanoTime() - v), null, sent));
                long latency = ran.get(10, TimeUnit.SECONDS);
                assertTrue(latency >= 0);
            }
        }
    }

    @Test
    void adaptiveReactorWithoutPollersSleepsUntilAMessageComes() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(1);
            Thread.sleep(300);
            long cpu0 = THREADS.getThreadCpuTime(r.threadId());
            Thread.sleep(500);
            assertTrue(THREADS.getThreadCpuTime(r.threadId()) - cpu0 < 100_000_000L);
            assertEquals(7, on(r, () -> 7));
        }
    }

    @Test
    void interruptPollerLetsTheReactorSleepUntilItsDescriptorIsReadable() throws Exception {
        // The eventfd is declared first so it is closed after the reactors stop polling it.
        try (io.ustor.env.EventFd event = io.ustor.env.EventFd.create(true); ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(1);
            AtomicLong events = new AtomicLong();
            on(r, () -> r.addInterruptPoller("eventfd", () -> {
                long n = event.drain();
                events.addAndGet(n);
                return n > 0 ? 1 : 0;
            }, event.fd()));
            Thread.sleep(200);
            long sleeps0 = r.stats().sleeps();
            long cpu0 = THREADS.getThreadCpuTime(r.threadId());
            Thread.sleep(500);
            long sleeps = r.stats().sleeps() - sleeps0;
            long cpu = THREADS.getThreadCpuTime(r.threadId()) - cpu0;
            // With a plain poller it would wake every millisecond (~500 times); here only the safety cap wakes it.
            assertTrue(sleeps < 30, "slept " + sleeps + " times in 500 ms");
            assertTrue(cpu < 100_000_000L, "used " + cpu + " ns CPU");
            for (int i = 1; i <= 3; i++) {
                event.signal();
                long expected = i;
                Reactors.await("event seen by the poller", () -> events.get() == expected);
                Thread.sleep(20);
            }
            // A local poller (work only from this reactor's own activity) keeps the event sleep...
            AtomicLong localRuns = new AtomicLong();
            on(r, () -> r.addLocalPoller("local", () -> {
                localRuns.incrementAndGet();
                return 0;
            }));
            Thread.sleep(100);
            long beforeLocal = r.stats().sleeps();
            Thread.sleep(300);
            assertTrue(r.stats().sleeps() - beforeLocal < 20, "a local poller needs no tick");
            event.signal();
            long runsBefore = localRuns.get();
            Reactors.await("the local poller runs in the iteration the event wakes", () -> localRuns.get() > runsBefore);
            // ...a plain poller added next to it brings back the periodic tick.
            on(r, () -> r.addPoller("plain", () -> 0));
            Thread.sleep(100);
            long before = r.stats().sleeps();
            Thread.sleep(300);
            assertTrue(r.stats().sleeps() - before > 30, "plain poller must be polled on the 1 ms tick");
        }
    }

    @Test
    void interruptPollerWithAClosedDescriptorFallsBackToTheTick() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            int fd = 1_000_000_000; // never open (a just-closed descriptor could be reused by the JVM meanwhile)
            AtomicLong runs = new AtomicLong();
            on(r, () -> r.addInterruptPoller("stale", () -> {
                runs.incrementAndGet();
                return 0;
            }, fd));
            Thread.sleep(300);
            long cpu0 = THREADS.getThreadCpuTime(r.threadId());
            long runs0 = runs.get();
            Thread.sleep(500);
            assertTrue(THREADS.getThreadCpuTime(r.threadId()) - cpu0 < 250_000_000L, "must not spin on POLLNVAL");
            assertTrue(runs.get() - runs0 > 20, "still polled on the tick");
        }
    }

    @Test
    void busySpinReactorRunsMessages() throws Exception {
        try (ReactorGroup g = Reactors.two(ReactorOptions.defaults())) {
            assertEquals(IdleMode.BUSY_SPIN, g.reactor(0).idleMode());
            assertEquals(3, on(g.reactor(0), () -> 3));
            assertEquals(4, on(g.reactor(1), () -> 4));
            assertEquals(0, g.reactor(0).stats().sleeps());
        }
    }

    @Test
    void unpinnedWhenAskedAndWhenTheCoreIsNotAllowed() throws Exception {
        try (ReactorGroup g = Reactors.two(ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE)
                .withPinThreads(false))) {
            assertFalse(g.reactor(0).pinned());
            assertEquals(1, on(g.reactor(0), () -> 1));
        }
        // Core 1000 does not exist here: the reactor logs, runs unpinned, and works.
        try (ReactorGroup g = ReactorGroup.start(CoreMask.of(1000),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE))) {
            assertFalse(g.reactor(0).pinned());
            assertEquals("reactor_1000", on(g.reactor(0), () -> Thread.currentThread().getName()));
        }
    }

    @Test
    void closeRunsAcceptedMessagesRefusesNewOnesAndJoins() throws Exception {
        ReactorGroup g = Reactors.two();
        Reactor r0 = g.reactor(0), r1 = g.reactor(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        r0.submit(() -> {
            blocked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 1000; i++) {
            assertTrue(r0.send((r, a, v) -> ran.incrementAndGet(), null, i));
        }
        AtomicLong pollerRuns = new AtomicLong();
        on(r1, () -> r1.addPoller("p", () -> {
            pollerRuns.incrementAndGet();
            return 0;
        }));
        Thread closer = new Thread(g::close);
        closer.start();
        Reactors.await("shutdown began", g::isClosed);
        Reactors.await("queue closed", () -> !r0.submit(() -> { })); // accepted no-ops do not count
        assertFalse(r0.send((r, a, v) -> ran.incrementAndGet(), null, -1), "send after close began");
        assertFalse(r0.submit(() -> { }));
        CompletableFuture<Integer> late = r1.call(() -> 1);
        release.countDown();
        closer.join(15_000);
        assertFalse(closer.isAlive());
        assertEquals(1000, ran.get());
        assertFalse(r0.thread.isAlive());
        assertFalse(r1.thread.isAlive());
        assertTrue(r1.pollerStats().isEmpty());
        long runs = pollerRuns.get();
        Thread.sleep(20);
        assertEquals(runs, pollerRuns.get());
        assertThrows(java.util.concurrent.ExecutionException.class, () -> late.get(1, TimeUnit.SECONDS));
        g.close(); // idempotent
    }

    @Test
    void concurrentSendersDuringCloseNeverLoseAnAcceptedMessage() throws Exception {
        for (int round = 0; round < 5; round++) {
            ReactorGroup g = Reactors.two();
            Reactor target = g.reactor(round % 2);
            AtomicLong accepted = new AtomicLong(), ran = new AtomicLong();
            MessageHandler h = (r, a, v) -> ran.incrementAndGet();
            Thread[] senders = new Thread[2];
            for (int s = 0; s < senders.length; s++) {
                senders[s] = new Thread(() -> {
                    long misses = 0;
                    while (misses < 100_000) {
                        if (target.send(h, null, 0)) {
                            accepted.incrementAndGet();
                        } else if (g.isClosed()) {
                            misses++;
                        }
                    }
                });
                senders[s].start();
            }
            Thread.sleep(30);
            g.close();
            for (Thread t : senders) {
                t.join();
            }
            assertEquals(accepted.get(), ran.get(), "round " + round);
        }
    }

    @Test
    void closeFromAReactorThreadDoesNotDeadlock() throws Exception {
        ReactorGroup g = Reactors.two();
        assertTrue(g.reactor(1).submit(g::close));
        Reactors.await("stopped", () -> !g.reactor(0).thread.isAlive() && !g.reactor(1).thread.isAlive());
        g.close();
    }
}
