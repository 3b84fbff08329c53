package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.ustor.reactor.Reactors.on;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReactorMessagingTest {
    @Test
    void groupHasNamedThreadsPerCoreAndRoundRobin() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            assertEquals(2, g.size());
            assertEquals(List.of(g.reactor(0), g.reactor(1)), g.reactors());
            for (int i = 0; i < 2; i++) {
                Reactor r = g.reactor(i);
                assertEquals(i, r.index());
                assertEquals(i, r.core());
                assertEquals("reactor_" + i, r.name());
                assertSame(g, r.group());
                assertSame(r, on(r, Reactor::current));
                assertEquals("reactor_" + i, on(r, () -> Thread.currentThread().getName()));
                int tid = on(r, io.ustor.env.Syscall::gettid);
                assertEquals(tid, r.osThreadId());
                assertTrue(tid != io.ustor.env.Syscall.gettid());
                assertTrue(on(r, r::isCurrent));
                assertFalse(r.isCurrent());
                if (r.pinned()) {
                    assertEquals(i, on(r, io.ustor.env.Affinity::currentCpu));
                }
            }
            assertNull(Reactor.current());
            assertSame(g.reactor(1), g.reactorOnCore(1));
            assertNull(g.reactorOnCore(5));
            Reactor a = g.next(), b = g.next(), c = g.next();
            assertSame(a, c);
            assertTrue(a != b);
        }
    }

    @Test
    void sendRunsHandlerOnTargetWithArgAndValue() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            CompletableFuture<String> seen = new CompletableFuture<>();
            MessageHandler h = (r, arg, v) -> seen.complete(r.name() + " " + Thread.currentThread().getName() + " "
                    + arg + " " + v);
            assertTrue(g.reactor(1).send(h, "hello", 42L));
            assertEquals("reactor_1 reactor_1 hello 42", seen.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void fullQueueReturnsFalseCountsAndLosesNothingAccepted() throws Exception {
        ReactorOptions small = ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withMessageQueueCapacity(16);
        try (ReactorGroup g = Reactors.two(small)) {
            Reactor target = g.reactor(1);
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocked = new CountDownLatch(1);
            // Park the target inside a handler so its queue fills up.
            assertTrue(target.submit(() -> {
                blocked.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            assertTrue(blocked.await(10, TimeUnit.SECONDS));
            List<Long> received = new ArrayList<>();
            MessageHandler h = (r, arg, v) -> received.add(v);
            int accepted = 0, refused = 0;
            for (long i = 0; i < 100; i++) {
                if (target.send(h, null, i)) {
                    accepted++;
                } else {
                    refused++;
                }
            }
            assertEquals(16, accepted);
            assertEquals(84, refused);
            assertEquals(84, target.stats().queueFull());
            assertEquals(16, target.queuedMessages());
            release.countDown();
            Reactors.await("accepted messages", () -> on(target, received::size) == 16);
            List<Long> copy = on(target, () -> List.copyOf(received));
            for (int i = 0; i < 16; i++) {
                assertEquals(i, copy.get(i));
            }
            assertTrue(target.stats().messages() >= 17);
        }
    }

    @Test
    void manyProducersKeepTheirOrderThroughAReactor() throws Exception {
        try (ReactorGroup g = Reactors.two(ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE)
                .withMessageQueueCapacity(256))) {
            Reactor target = g.reactor(0);
            int producers = 3, each = 50_000;
            int[] next = new int[producers];
            AtomicInteger errors = new AtomicInteger();
            AtomicInteger total = new AtomicInteger();
            MessageHandler h = (r, arg, v) -> {
                int id = (int) (v >>> 32), seq = (int) v;
                if (next[id] != seq) {
                    errors.incrementAndGet();
                }
                next[id] = seq + 1;
                total.incrementAndGet();
            };
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                long id = p;
                Thread t = new Thread(() -> {
                    for (int i = 0; i < each; i++) {
                        while (!target.send(h, null, (id << 32) | i)) {
                            Thread.onSpinWait();
                        }
                    }
                });
                threads.add(t);
                t.start();
            }
            // Reactor 1 also sends, from a reactor thread.
            g.reactor(1).submit(() -> {
                for (int i = 0; i < 1000; i++) {
                    while (!target.send((r, a, v) -> total.incrementAndGet(), null, i)) {
                        Thread.onSpinWait();
                    }
                }
            });
            for (Thread t : threads) {
                t.join();
            }
            Reactors.await("all messages", () -> total.get() == producers * each + 1000);
            assertEquals(0, errors.get());
        }
    }

    @Test
    void callCompletesWithResultOrException() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            assertEquals("reactor_1", g.reactor(1).call(() -> Reactor.current().name()).get(10, TimeUnit.SECONDS));
            CompletableFuture<Object> failing = g.reactor(0).call(() -> {
                throw new IllegalStateException("boom");
            });
            ExecutionException e = assertThrows(ExecutionException.class, () -> failing.get(10, TimeUnit.SECONDS));
            assertEquals("boom", e.getCause().getMessage());
        }
    }

    @Test
    void callRetriesWhenTheQueueIsFull() throws Exception {
        ReactorOptions small = ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withMessageQueueCapacity(4);
        try (ReactorGroup g = Reactors.two(small)) {
            Reactor target = g.reactor(1);
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocked = new CountDownLatch(1);
            target.submit(() -> {
                blocked.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(blocked.await(10, TimeUnit.SECONDS));
            while (target.submit(() -> { })) {
                // fill the queue
            }
            // From a plain thread: the call waits for room.
            CompletableFuture<CompletableFuture<Integer>> fromThread = CompletableFuture.supplyAsync(
                    () -> target.call(() -> 7));
            // From reactor 0: the call is deferred on reactor 0 and resent.
            List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
            CompletableFuture<Integer> fromReactor = on(g.reactor(0), () -> target.call(() -> {
                order.add("first");
                return 8;
            }));
            CompletableFuture<Integer> secondFromReactor = on(g.reactor(0), () -> target.call(() -> {
                order.add("second");
                return 9;
            }));
            Thread.sleep(50);
            assertFalse(fromReactor.isDone());
            release.countDown();
            assertEquals(7, fromThread.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS));
            assertEquals(8, fromReactor.get(10, TimeUnit.SECONDS));
            assertEquals(9, secondFromReactor.get(10, TimeUnit.SECONDS));
            assertEquals(List.of("first", "second"), order);
        }
    }

    @Test
    void callOnEachRunsOnEveryReactor() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            assertEquals(List.of("reactor_0", "reactor_1"),
                    g.callOnEach(r -> Thread.currentThread().getName()).get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void handlerExceptionsAreCountedAndTheReactorGoesOn() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            for (int i = 0; i < 3; i++) {
                assertTrue(r.send((re, a, v) -> {
                    throw new IllegalStateException("handler failure " + v);
                }, null, i));
            }
            assertEquals(5, on(r, () -> 5));
            assertEquals(3, r.stats().exceptions());
        }
    }

    @Test
    void perReactorIdleModeCanChange() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(1);
            assertEquals(IdleMode.ADAPTIVE, r.idleMode());
            r.idleMode(IdleMode.BUSY_SPIN);
            assertEquals(IdleMode.BUSY_SPIN, r.stats().idleMode());
            assertEquals(IdleMode.ADAPTIVE, g.reactor(0).idleMode());
            AtomicReference<String> name = new AtomicReference<>();
            r.submit(() -> name.set(Reactor.current().name()));
            Reactors.await("message on busy-spinning reactor", () -> "reactor_1".equals(name.get()));
            r.idleMode(IdleMode.ADAPTIVE);
        }
    }
}
