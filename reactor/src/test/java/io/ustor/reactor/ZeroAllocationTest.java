package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The message path allocates nothing: neither the sender nor the reactor running the messages. */
class ZeroAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final long SLACK = 64 * 1024;

    /** A handler kept in a field, as the hot path does: counts in a plain field (single consumer). */
    static final class Counter implements MessageHandler {
        volatile long count;

        @Override
        public void onMessage(Reactor reactor, Object arg, long value) {
            count = count + 1;
        }
    }

    @Test
    void sendingAndRunningMessagesAllocatesNothing() throws Exception {
        try (ReactorGroup g = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE))) {
            Reactor target = g.reactor(1);
            Counter counter = new Counter();
            Object arg = new Object();
            AtomicLong sent = new AtomicLong();
            sendMany(target, counter, arg, 1_000_000, sent); // warm-up: JIT-compile the paths
            Reactors.await("warm-up delivered", () -> counter.count == sent.get());

            long me = Thread.currentThread().threadId();
            long senderBefore = THREADS.getThreadAllocatedBytes(me);
            long reactorBefore = THREADS.getThreadAllocatedBytes(target.threadId());
            sendMany(target, counter, arg, 1_000_000, sent);
            long senderBytes = THREADS.getThreadAllocatedBytes(me) - senderBefore;
            Reactors.await("delivered", () -> counter.count == sent.get());
            long reactorBytes = THREADS.getThreadAllocatedBytes(target.threadId()) - reactorBefore;
            assertEquals(2_000_000, counter.count);
            assertTrue(senderBytes < SLACK, "sender allocated " + senderBytes + " bytes for 1M sends");
            assertTrue(reactorBytes < SLACK, "reactor allocated " + reactorBytes + " bytes for 1M messages");
        }
    }

    @Test
    void reactorToReactorSendsAndThePollerLoopAllocateNothing() throws Exception {
        try (ReactorGroup g = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE))) {
            Reactor sender = g.reactor(0), target = g.reactor(1);
            Counter counter = new Counter();
            AtomicLong sent = new AtomicLong();
            // Pollers on the sender: one always busy, one timed; they run the whole time.
            Reactors.on(sender, () -> sender.addPoller("busy", () -> 1));
            Reactors.on(sender, () -> sender.addTimedPoller("timer", () -> 0, 100_000L));
            Reactors.onVoid(sender, () -> sendMany(target, counter, null, 1_000_000, sent)); // warm-up
            Reactors.await("warm-up delivered", () -> counter.count == sent.get());

            long senderBefore = THREADS.getThreadAllocatedBytes(sender.threadId());
            long targetBefore = THREADS.getThreadAllocatedBytes(target.threadId());
            // Send from a handler object made before measuring; the sender reactor's loop keeps polling meanwhile.
            Runnable burst = () -> sendMany(target, counter, null, 1_000_000, sent);
            sender.submit(burst);
            Reactors.await("delivered", () -> counter.count == 2_000_000);
            Thread.sleep(200); // more idle and busy loops on both
            long senderBytes = THREADS.getThreadAllocatedBytes(sender.threadId()) - senderBefore;
            long targetBytes = THREADS.getThreadAllocatedBytes(target.threadId()) - targetBefore;
            assertTrue(senderBytes < SLACK, "sending reactor allocated " + senderBytes + " bytes");
            assertTrue(targetBytes < SLACK, "receiving reactor allocated " + targetBytes + " bytes");
            PollerStats busy = sender.pollerStats().get(0);
            assertTrue(busy.runCount() > 1000, busy.toString());
        }
    }

    private static void sendMany(Reactor target, MessageHandler h, Object arg, int n, AtomicLong sent) {
        long accepted = 0;
        for (int i = 0; i < n; i++) {
            while (!target.send(h, arg, i)) {
                Thread.onSpinWait();
            }
            accepted++;
        }
        sent.addAndGet(accepted);
    }
}
