package io.ustor.bdev;

import io.ustor.bdev.delay.DelayBdev;
import io.ustor.bdev.delay.DelayLatencies;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The delay bdev over a malloc bdev: data passes through (in pieces of segments), completions are held, claims, removal. */
class DelayBdevTest {
    static ReactorGroup group;
    static final Arena ARENA = Arena.ofShared();

    @BeforeAll
    static void start() {
        group = TestReactors.one();
    }

    @AfterAll
    static void stop() {
        group.close();
    }

    private static BdevRegistry registryWithMalloc(String name) {
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(MallocBdev.create(name, 2048, 512, null));
        return reg;
    }

    @Test
    void piecesOfSegmentsGoThroughAndWritesAreHeldForTheirLatency() throws Exception {
        BdevRegistry reg = registryWithMalloc("Base0");
        DelayBdev delay = DelayBdev.create(reg, "Delay0", "Base0", new DelayLatencies(0, 0, 200_000, 200_000), null);
        reg.register(delay);
        assertEquals("delay", reg.lookup("Base0").claimedBy());
        Reactor r = group.reactor(0);
        BdevDesc d = reg.open("Delay0", true, (t, x) -> { });
        BdevChannel ch = TestReactors.on(r, d::getIoChannel);

        // two pieces from the middle of one segment: 512 B at 512 and 1024 B at 2048
        MemorySegment big = ARENA.allocate(4096, 512);
        for (int i = 0; i < 4096; i += 4) {
            big.set(ValueLayout.JAVA_INT, i, i * 31 + 7);
        }
        MemorySegment[] segs = {big, big};
        long[] offs = {512, 2048};
        long[] lens = {512, 1024};
        Completion w = new Completion();
        assertEquals(0, TestReactors.on(r, () -> d.writev(ch, segs, offs, lens, 2, 100, 3, w, null)));
        assertTrue(w.await().success());
        // Held as long as asked on the reactor's own clock, which stamps submission and completion alike (a clock
        // read on this thread before the submit message may be later than the reactor's stamp of it).
        assertTrue(delay.stats().minLatencyTicks(IoType.WRITE) >= TimeUnit.MILLISECONDS.toNanos(200),
                "the write was held for its 200 ms average latency: " + delay.stats().minLatencyTicks(IoType.WRITE));

        MemorySegment back = ARENA.allocate(1536, 512);
        Completion rd = new Completion();
        assertEquals(0, TestReactors.on(r, () -> d.read(ch, back, 100, 3, rd, null)));
        assertTrue(rd.await().success());
        assertEquals(-1, big.asSlice(512, 512).mismatch(back.asSlice(0, 512)));
        assertEquals(-1, big.asSlice(2048, 1024).mismatch(back.asSlice(512, 1024)));

        // a piece that runs past its segment is refused at submission
        long[] badOffs = {4000, 0};
        assertEquals(-Errno.EINVAL, (int) TestReactors.on(r, () -> d.writev(ch, segs, badOffs, lens, 2, 0, 3,
                new Completion(), null)));

        TestReactors.on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
        d.close();
        reg.unregister("Delay0").get(20, TimeUnit.SECONDS);
        assertFalse(reg.lookup("Base0").claimed(), "the claim goes with the delay bdev");
    }

    @Test
    void aClaimedBaseCannotCarryASecondDelayAndItsRemovalTakesTheDelayBdev() throws Exception {
        BdevRegistry reg = registryWithMalloc("Base1");
        reg.register(DelayBdev.create(reg, "Delay1", "Base1", new DelayLatencies(10, 10, 10, 10), null));
        BdevException e = assertThrows(BdevException.class, () -> DelayBdev.create(reg, "Delay2", "Base1",
                new DelayLatencies(0, 0, 0, 0), null));
        assertEquals(Errno.EPERM, e.errno(), e.getMessage());
        assertThrows(BdevException.class, () -> new DelayLatencies(10, 5, 0, 0), "p99 below average");

        reg.unregister("Base1").get(20, TimeUnit.SECONDS);
        TestReactors.await("the delay bdev to follow its base", () -> reg.lookup("Delay1") == null);
    }
}
