package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.ustor.reactor.Reactors.await;
import static io.ustor.reactor.Reactors.on;
import static io.ustor.reactor.Reactors.onVoid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IoDeviceTest {
    /** A channel that remembers where it was made. */
    record Ch(String madeOn, int serial) {
    }

    /** Records every create and destroy with the thread it ran on. */
    static final class Factory implements IoChannelFactory<Ch> {
        final List<String> events = new CopyOnWriteArrayList<>();
        int serial;

        @Override
        public synchronized Ch createChannel(Reactor r) {
            events.add("create " + r.name() + " on " + Thread.currentThread().getName());
            return new Ch(r.name(), serial++);
        }

        @Override
        public void destroyChannel(Reactor r, Ch channel) {
            events.add("destroy " + channel.madeOn() + " on " + Thread.currentThread().getName());
        }
    }

    @Test
    void channelsAreLazyPerReactorRefcountedAndDestroyedAtZeroOnTheirReactor() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Factory f = new Factory();
            IoDevice<Ch> dev = new IoDevice<>("dev0", f);
            Reactor r0 = g.reactor(0), r1 = g.reactor(1);
            assertTrue(f.events.isEmpty());
            assertNull(on(r0, dev::channelIfPresent));
            Ch a = on(r0, dev::getChannel);
            Ch a2 = on(r0, dev::getChannel);
            assertSame(a, a2);
            assertEquals("reactor_0", a.madeOn());
            Ch b = on(r1, dev::getChannel);
            assertNotSame(a, b);
            assertEquals(List.of("create reactor_0 on reactor_0", "create reactor_1 on reactor_1"), f.events);
            assertEquals(2, dev.channelCount());
            assertSame(a, on(r0, dev::channelIfPresent));
            assertNull(dev.channelIfPresent()); // not a reactor thread

            onVoid(r0, () -> dev.putChannel(a));
            Thread.sleep(20);
            assertEquals(2, f.events.size(), "one reference left on reactor_0");
            onVoid(r0, () -> dev.putChannel(a));
            await("destroy on reactor_0", () -> f.events.size() == 3);
            assertEquals("destroy reactor_0 on reactor_0", f.events.get(2));
            assertEquals(1, dev.channelCount());
            assertNull(on(r0, dev::channelIfPresent));

            // A put from a non-reactor thread is carried to the owner.
            dev.putChannel(b);
            await("destroy on reactor_1", () -> f.events.size() == 4);
            assertEquals("destroy reactor_1 on reactor_1", f.events.get(3));
            assertEquals(0, dev.channelCount());

            // Lazily recreated.
            Ch again = on(r0, dev::getChannel);
            assertNotSame(a, again);
            assertEquals("create reactor_0 on reactor_0", f.events.get(4));
            onVoid(r0, () -> dev.putChannel(again));
        }
    }

    @Test
    void aGetRightAfterTheLastPutRevivesTheChannel() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Factory f = new Factory();
            IoDevice<Ch> dev = new IoDevice<>("dev1", f);
            Reactor r0 = g.reactor(0);
            Ch same = on(r0, () -> {
                Ch c = dev.getChannel();
                dev.putChannel(c);
                return dev.getChannel(); // before the deferred destroy runs
            });
            on(r0, () -> null); // the deferred destroy message was queued before this one, so it has run

            assertEquals(List.of("create reactor_0 on reactor_0"), f.events);
            assertEquals(0, same.serial());
            onVoid(r0, () -> dev.putChannel(same));
            await("destroyed", () -> f.events.size() == 2);
        }
    }

    @Test
    void misuseIsRefused() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            IoDevice<Ch> dev = new IoDevice<>("dev2", new Factory());
            assertThrows(IllegalStateException.class, dev::getChannel); // not on a reactor
            Ch c = on(g.reactor(0), dev::getChannel);
            assertThrows(IllegalArgumentException.class, () -> dev.putChannel(new Ch("x", 9)));
            onVoid(g.reactor(0), () -> dev.putChannel(c));
            // Once destroyed it is nobody's channel; a double put before that is a refcount error.
            assertThrows(IllegalArgumentException.class, () -> onVoid(g.reactor(0), () -> dev.putChannel(c)));
            assertThrows(IllegalStateException.class, () -> onVoid(g.reactor(1), () -> {
                Ch x = dev.getChannel();
                dev.putChannel(x);
                dev.putChannel(x);
            }));
        }
    }

    @Test
    void forEachChannelVisitsExactlyTheHoldersThenCallsDoneOnTheOrigin() throws Exception {
        ReactorOptions options = ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE);
        try (ReactorGroup g = ReactorGroup.start(CoreMask.parse("[0,1]"), options)) {
            IoDevice<Ch> dev = new IoDevice<>("dev3", new Factory());
            Reactor r0 = g.reactor(0), r1 = g.reactor(1);
            Ch c1 = on(r1, dev::getChannel);
            List<String> visits = new CopyOnWriteArrayList<>();
            CompletableFuture<String> done = new CompletableFuture<>();
            onVoid(r0, () -> dev.forEachChannel(
                    (r, ch) -> visits.add(r.name() + " " + ch.madeOn() + " on " + Thread.currentThread().getName()),
                    () -> done.complete(Thread.currentThread().getName() + " after " + visits.size())));
            assertEquals("reactor_0 after 1", done.get(10, TimeUnit.SECONDS));
            assertEquals(List.of("reactor_1 reactor_1 on reactor_1"), visits);

            // Both hold one now; started on reactor_1, done comes back to reactor_1.
            Ch c0 = on(r0, dev::getChannel);
            visits.clear();
            CompletableFuture<String> done2 = new CompletableFuture<>();
            onVoid(r1, () -> dev.forEachChannel((r, ch) -> visits.add(r.name()),
                    () -> done2.complete(Thread.currentThread().getName() + " after " + visits.size())));
            assertEquals("reactor_1 after 2", done2.get(10, TimeUnit.SECONDS));
            assertEquals(List.of("reactor_0", "reactor_1"), visits);

            // From a plain thread: done still runs after every visit.
            visits.clear();
            CompletableFuture<Integer> done3 = new CompletableFuture<>();
            dev.forEachChannel((r, ch) -> visits.add(r.name()), () -> done3.complete(visits.size()));
            assertEquals(2, done3.get(10, TimeUnit.SECONDS));

            onVoid(r0, () -> dev.putChannel(c0));
            onVoid(r1, () -> dev.putChannel(c1));
            await("channels gone", () -> dev.channelCount() == 0);

            // A device with no channels: done at once, on the caller's reactor.
            CompletableFuture<String> done4 = new CompletableFuture<>();
            onVoid(r1, () -> dev.forEachChannel((r, ch) -> visits.add("unexpected"),
                    () -> done4.complete(Thread.currentThread().getName())));
            assertEquals("reactor_1", done4.get(10, TimeUnit.SECONDS));
            CompletableFuture<Boolean> done5 = new CompletableFuture<>();
            new IoDevice<Ch>("never-used", new Factory()).forEachChannel((r, ch) -> { }, () -> done5.complete(true));
            assertTrue(done5.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void unregisterWaitsForEveryChannelToBePut() throws Exception {
        try (ReactorGroup g = Reactors.two()) {
            Factory f = new Factory();
            IoDevice<Ch> dev = new IoDevice<>("dev4", f);
            Reactor r0 = g.reactor(0), r1 = g.reactor(1);
            Ch c0 = on(r0, dev::getChannel);
            Ch c1 = on(r1, dev::getChannel);
            CompletableFuture<String> done = new CompletableFuture<>();
            onVoid(r0, () -> dev.unregister(() -> done.complete(Thread.currentThread().getName())));
            assertTrue(dev.isUnregistered());
            assertThrows(IllegalStateException.class, () -> on(r1, dev::getChannel));
            assertThrows(IllegalStateException.class, () -> dev.unregister(() -> { }));
            onVoid(r0, () -> dev.putChannel(c0));
            await("reactor_0 channel destroyed", () -> f.events.contains("destroy reactor_0 on reactor_0"));
            Thread.sleep(20);
            assertFalse(done.isDone(), "reactor_1 still holds a channel");
            onVoid(r1, () -> dev.putChannel(c1));
            assertEquals("reactor_0", done.get(10, TimeUnit.SECONDS));

            CompletableFuture<String> unused = new CompletableFuture<>();
            new IoDevice<Ch>("unused", f).unregister(() -> unused.complete(Thread.currentThread().getName()));
            assertEquals(Thread.currentThread().getName(), unused.getNow("not yet"));
        }
    }

    @Test
    void shutdownReleasesChannelsStillHeld() throws Exception {
        Factory f = new Factory();
        IoDevice<Ch> dev = new IoDevice<>("dev5", f);
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        try (ReactorGroup g = Reactors.two()) {
            on(g.reactor(0), dev::getChannel);
            on(g.reactor(1), dev::getChannel);
            dev.unregister(() -> done.complete(true));
        }
        assertTrue(f.events.contains("destroy reactor_0 on reactor_0"), f.events.toString());
        assertTrue(f.events.contains("destroy reactor_1 on reactor_1"), f.events.toString());
        assertEquals(0, dev.channelCount());
        assertTrue(done.getNow(false));
    }
}
