package io.ustor.reactor;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Rough message throughput from a plain thread and from another reactor (prints figures; asserts nothing).
 * The JMH benchmarks in perf are the real measurement. Run: bin/mvn -pl reactor test -Dgroups=bench
 */
@Tag("bench")
class MessageThroughputBenchTest {
    static final class Counter implements MessageHandler {
        long count;

        @Override
        public void onMessage(Reactor reactor, Object arg, long value) {
            count++;
        }
    }

    @Test
    void threadToReactorAndReactorToReactor() throws Exception {
        for (IdleMode mode : IdleMode.values()) {
            // One reactor on core 1, so the sending thread has core 0 to itself.
            try (ReactorGroup g = ReactorGroup.start(CoreMask.of(1), ReactorOptions.defaults().withIdleMode(mode))) {
                Reactor target = g.reactor(0);
                Counter c = new Counter();
                int n = 5_000_000;
                for (int round = 0; round < 3; round++) {
                    long t0 = System.nanoTime();
                    long full = 0;
                    for (int i = 0; i < n; i++) {
                        while (!target.send(c, null, i)) {
                            full++;
                            Thread.onSpinWait();
                        }
                    }
                    long expected = (long) (round + 1) * n;
                    Reactors.await("delivery", () -> Reactors.on(target, () -> c.count) == expected);
                    long ns = System.nanoTime() - t0;
                    System.out.printf("%s thread->reactor: %.1f M msgs/s (%d full retries)%n", mode,
                            n * 1e3 / ns, full);
                }
            }
            try (ReactorGroup g = Reactors.two(ReactorOptions.defaults().withIdleMode(mode))) {
                Reactor target = g.reactor(1);
                int n = 5_000_000;
                Counter c2 = new Counter();
                long t0 = System.nanoTime();
                Reactors.onVoid(g.reactor(0), () -> {
                    for (int i = 0; i < n; i++) {
                        while (!target.send(c2, null, i)) {
                            Thread.onSpinWait();
                        }
                    }
                });
                Reactors.await("delivery", () -> Reactors.on(target, () -> c2.count) == n);
                System.out.printf("%s reactor->reactor: %.1f M msgs/s%n", mode, n * 1e3 / (System.nanoTime() - t0));
            }
        }
    }
}
