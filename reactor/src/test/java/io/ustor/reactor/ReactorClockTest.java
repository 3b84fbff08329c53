package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.ustor.reactor.Reactors.await;
import static io.ustor.reactor.Reactors.on;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loop's cached clock, {@link Reactor#now()}: a System.nanoTime() reading that moves with the loop. */
class ReactorClockTest {
    @Test
    void nowIsTheTimeThePollerRunStartedAndMovesForwardBetweenRuns() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(0);
            AtomicInteger runs = new AtomicInteger();
            AtomicBoolean ok = new AtomicBoolean(true);
            StringBuilder why = new StringBuilder();
            long[] last = {Long.MIN_VALUE};
            on(r, () -> r.addPoller("clock check", () -> {
                long before = System.nanoTime();
                long now = r.now();
                long busy = before + 1_000;
                while (System.nanoTime() < busy) {
                    Thread.onSpinWait();
                }
                // Within a run the cached time stays put; it was read before this run began, after the last one ended.
                if (now > before || r.now() != now || now <= last[0]) {
                    if (ok.compareAndSet(true, false)) {
                        why.append("now ").append(now).append(" before ").append(before).append(" last ").append(last[0]);
                    }
                }
                last[0] = now;
                runs.incrementAndGet();
                return 1;
            }));
            await("1000 runs", () -> runs.get() >= 1000);
            r.call(() -> null).get(); // the poller's writes happen-before this
            assertTrue(ok.get(), why::toString);
        }
    }

    @Test
    void messageHandlersSeeATimeNoLaterThanTheirStart() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Reactor r = g.reactor(1);
            long sent = System.nanoTime();
            long[] seen = r.call(() -> new long[]{r.now(), System.nanoTime()}).get();
            assertTrue(seen[0] <= seen[1], () -> "now " + seen[0] + " after the handler's own clock " + seen[1]);
            assertTrue(seen[1] >= sent);
        }
    }
}
