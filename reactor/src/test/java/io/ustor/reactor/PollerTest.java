package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.ustor.reactor.Reactors.await;
import static io.ustor.reactor.Reactors.on;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PollerTest {
    private static PollerStats statsOf(Reactor r, String name) {
        return r.pollerStats().stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no poller " + name + " on " + r.name()));
    }

    @Test
    void busyAndIdleAreAccountedPerPollerAndPerReactor() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            AtomicInteger calls = new AtomicInteger();
            // Busy (returns 1) on every other call, spending a little time then.
            on(r, () -> r.addPoller("alternating", () -> {
                if (calls.incrementAndGet() % 2 == 0) {
                    long until = System.nanoTime() + 20_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    return 1;
                }
                return 0;
            }));
            on(r, () -> r.addPoller("idle", () -> 0));
            await("runs", () -> r.pollerStats().stream()
                    .anyMatch(p -> p.name().equals("alternating") && p.runCount() > 2000));
            PollerStats alt = statsOf(r, "alternating");
            assertTrue(alt.busyCount() > 0 && alt.busyCount() < alt.runCount(), alt.toString());
            assertTrue(Math.abs(alt.runCount() - 2 * alt.busyCount()) <= 10, alt.toString());
            assertTrue(alt.busyNanos() >= (alt.busyCount() - 1) * 20_000L, alt.toString());
            assertFalse(alt.timed());
            PollerStats idle = statsOf(r, "idle");
            assertEquals(0, idle.busyCount());
            assertTrue(idle.runCount() > 0);
            assertEquals(0, idle.busyNanos());
            ReactorStats s = r.stats();
            assertTrue(s.busyNanos() >= alt.busyNanos(), s.toString());
            assertTrue(s.idleNanos() > 0, s.toString());
            assertTrue(s.loops() >= alt.runCount(), s.toString());
            assertEquals(2, s.activePollers());
            assertEquals(0, s.timedPollers());
            assertEquals("reactor_0", alt.reactor());
        }
    }

    @Test
    void timedPollerRunsRoughlyEveryPeriod() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(1);
            List<Long> times = new ArrayList<>();
            long period = 20_000_000L;
            on(r, () -> r.addTimedPoller("tick", () -> {
                times.add(System.nanoTime());
                return 1;
            }, period));
            long start = System.nanoTime();
            await("ticks", () -> on(r, times::size) >= 10);
            List<Long> copy = on(r, () -> List.copyOf(times));
            for (int i = 1; i < copy.size(); i++) {
                // Never early; lateness is not asserted (shared machine).
                assertTrue(copy.get(i) - copy.get(i - 1) >= period, "gap " + (copy.get(i) - copy.get(i - 1)));
            }
            assertTrue(copy.get(0) - start >= 0);
            PollerStats s = statsOf(r, "tick");
            assertTrue(s.timed());
            assertEquals(period, s.periodNanos());
            assertEquals(1, r.stats().timedPollers());
            assertTrue(s.runCount() >= 10 && s.busyCount() == s.runCount());
        }
    }

    @Test
    void pollersAddAndRemovePollersFromInsideTheLoop() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            AtomicInteger childRuns = new AtomicInteger();
            AtomicInteger parentRuns = new AtomicInteger();
            AtomicReference<PollerHandle> child = new AtomicReference<>();
            AtomicReference<PollerHandle> parent = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean earlyStart = new java.util.concurrent.atomic.AtomicBoolean();
            on(r, () -> {
                parent.set(r.addPoller("parent", () -> {
                    int n = parentRuns.incrementAndGet();
                    if (n == 1) {
                        child.set(r.addPoller("child", () -> {
                            if (childRuns.get() == 0 && parentRuns.get() < 2) {
                                earlyStart.set(true); // ran in the iteration that registered it
                            }
                            if (childRuns.incrementAndGet() == 100) {
                                child.get().unregister(); // removes itself
                                parent.get().unregister(); // and its parent
                            }
                            return 1;
                        }));
                        return 1;
                    }
                    return 1;
                }));
                return null;
            });
            await("child removed", () -> childRuns.get() >= 100 && r.pollerStats().isEmpty());
            int parents = parentRuns.get(), children = childRuns.get();
            Thread.sleep(50);
            assertEquals(100, children);
            assertFalse(earlyStart.get());
            assertEquals(children, childRuns.get());
            assertEquals(parents, parentRuns.get());
            assertEquals("parent", parent.get().name());
            parent.get().unregister(); // idempotent, from another thread
        }
    }

    @Test
    void unregisterFromAnotherThreadStopsThePoller() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(1);
            AtomicLong runs = new AtomicLong();
            PollerHandle h = on(r, () -> r.addPoller("counter", () -> {
                runs.incrementAndGet();
                return 0;
            }));
            await("runs", () -> runs.get() > 10);
            h.unregister();
            await("removed", () -> r.pollerStats().isEmpty());
            long n = runs.get();
            Thread.sleep(20);
            assertEquals(n, runs.get());
        }
    }

    @Test
    void throwingPollerIsCountedAndOthersKeepRunning() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            AtomicLong good = new AtomicLong();
            on(r, () -> r.addPoller("bad", () -> {
                throw new IllegalStateException("poller failure");
            }));
            on(r, () -> r.addPoller("good", () -> {
                good.incrementAndGet();
                return 0;
            }));
            await("good poller runs while bad throws", () -> good.get() > 100 && statsOf(r, "bad").exceptions() > 100);
            PollerStats bad = statsOf(r, "bad");
            assertEquals(bad.runCount(), bad.exceptions(), bad.toString());
            assertEquals(0, bad.busyCount());
            assertTrue(r.stats().exceptions() >= bad.exceptions());
            assertEquals(42, on(r, () -> 42)); // messages still run
        }
    }

    @Test
    void addPollerOffTheReactorThreadIsRefused() {
        try (ReactorGroup g = Reactors.two()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> g.reactor(0).addPoller("x", () -> 0));
            assertTrue(e.getMessage().contains("reactor_0"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> on(g.reactor(0),
                    () -> g.reactor(0).addTimedPoller("neg", () -> 0, -1)));
        }
    }
}
