package io.ustor.bdev;

import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
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

/** Malloc data integrity across channels on two reactors, geometry checks, chunked memory. */
class MallocTwoReactorsTest {
    static ReactorGroup group;
    static DmaMemory memory;
    static final Arena ARENA = Arena.ofShared();

    @BeforeAll
    static void start() {
        group = TestReactors.two();
        memory = DmaMemory.open(DmaOptions.defaults().withNoHuge(true));
    }

    @AfterAll
    static void stop() {
        group.close();
        memory.close();
    }

    static Completion.Result io(Reactor r, java.util.function.Function<Completion, Integer> op) throws Exception {
        Completion c = new Completion();
        assertEquals(0, TestReactors.on(r, () -> op.apply(c)));
        return c.await();
    }

    @Test
    void writesOnOneReactorReadBackOnTheOther() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        MallocBdev b = MallocBdev.create("M2", 4096, 4096, null, memory);
        reg.register(b);
        BdevDesc d = reg.open("M2", true, (t, x) -> {
        });
        Reactor r0 = group.reactor(0), r1 = group.reactor(1);
        BdevChannel ch0 = TestReactors.on(r0, d::getIoChannel);
        BdevChannel ch1 = TestReactors.on(r1, d::getIoChannel);
        assertNotSame(ch0, ch1);
        int n = 64;
        MemorySegment[] written = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            MemorySegment s = ARENA.allocate(4 * 4096, 4096);
            for (long j = 0; j < s.byteSize(); j += 8) {
                s.set(ValueLayout.JAVA_LONG, j, i * 1_000_000_007L + j);
            }
            written[i] = s;
            long off = i * 64L;
            Reactor r = (i & 1) == 0 ? r0 : r1;
            BdevChannel ch = (i & 1) == 0 ? ch0 : ch1;
            assertTrue(io(r, c -> d.write(ch, s, off, 4, c, null)).success());
        }
        for (int i = 0; i < n; i++) {
            MemorySegment rd = ARENA.allocate(4 * 4096, 4096);
            long off = i * 64L;
            Reactor r = (i & 1) == 0 ? r1 : r0; // read on the other reactor
            BdevChannel ch = (i & 1) == 0 ? ch1 : ch0;
            MemorySegment[] iovs = {rd.asSlice(0, 4096 * 3), rd.asSlice(4096 * 3)};
            assertTrue(io(r, c -> d.readv(ch, iovs, 2, off, 4, c, null)).success());
            assertEquals(-1, rd.mismatch(written[i]), "extent " + i);
        }
        assertEquals(32, ch0.stats().ops(IoType.WRITE));
        assertEquals(32, ch1.stats().ops(IoType.WRITE));
        assertEquals(64, b.stats().ops(IoType.WRITE));
        assertEquals(64, b.stats().ops(IoType.READ));
        assertEquals(2, b.channelStats().size());
        TestReactors.on(r0, () -> {
            d.putIoChannel(ch0);
            return null;
        });
        TestReactors.on(r1, () -> {
            d.putIoChannel(ch1);
            return null;
        });
        d.close();
        long used = memory.usedBytes();
        reg.unregister("M2").get(10, TimeUnit.SECONDS);
        assertTrue(memory.usedBytes() <= used - 4096L * 4096, "delete frees the memory");
    }

    @Test
    void resetWaitsForIoOnEveryReactor() throws Exception {
        RecordingBdev b = RecordingBdev.simple("Reset2");
        b.hold = true;
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(b);
        BdevDesc d = reg.open("Reset2", true, (t, x) -> {
        });
        Reactor r0 = group.reactor(0), r1 = group.reactor(1);
        BdevChannel ch0 = TestReactors.on(r0, d::getIoChannel);
        BdevChannel ch1 = TestReactors.on(r1, d::getIoChannel);
        MemorySegment buf = ARENA.allocate(512);
        Completion onR1 = new Completion(), reset = new Completion();
        assertEquals(0, TestReactors.on(r1, () -> d.read(ch1, buf, 3, 1, onR1, null)));
        assertEquals(0, TestReactors.on(r0, () -> d.reset(ch0, reset, null)));
        Thread.sleep(50);
        assertFalse(reset.done(), "reset waits for the read on the other reactor");
        assertEquals(1, (int) TestReactors.on(r1, () -> b.releaseHeld(ch1)));
        assertTrue(onR1.await().success());
        TestReactors.await("reset at the module", () -> b.submittedCopy().size() == 2);
        assertEquals(IoType.RESET, b.submittedCopy().get(1).type());
        assertEquals(1, (int) TestReactors.on(r0, () -> b.releaseHeld(ch0)));
        Completion.Result res = reset.await();
        assertTrue(res.success());
        assertEquals(IoType.RESET, res.type());
        b.hold = false;
        Completion after = new Completion();
        assertEquals(0, TestReactors.on(r1, () -> d.read(ch1, buf, 3, 1, after, null)));
        assertTrue(after.await().success());
        TestReactors.on(r0, () -> {
            d.putIoChannel(ch0);
            return null;
        });
        TestReactors.on(r1, () -> {
            d.putIoChannel(ch1);
            return null;
        });
        d.close();
        reg.unregister("Reset2").get(10, TimeUnit.SECONDS);
    }

    @Test
    void geometryIsValidated() {
        assertEquals(Errno.EINVAL, assertThrows(BdevException.class, () -> MallocBdev.create("g", 10, 500, null, memory)).errno());
        assertThrows(BdevException.class, () -> MallocBdev.create("g", 10, 256, null, memory));
        assertThrows(BdevException.class, () -> MallocBdev.create("g", 0, 512, null, memory));
        assertThrows(BdevException.class, () -> MallocBdev.create("g", 10, 1 << 17, null, memory));
        MallocBdev ok = MallocBdev.create("g", 10, 1536, null, memory); // a multiple of 512, like SPDK allows
        assertEquals(1536, ok.blockSize());
    }

    @Test
    void bigBdevInChunksWhenMemoryIsReservedInPieces() throws Exception {
        // 200 MiB reserved, split into two free holes of 70 MiB: 100 MiB fit only in pieces.
        try (DmaMemory small = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withMemorySize(200L << 20))) {
            var a = small.allocate(70L << 20);
            var keep1 = small.allocate(10L << 20);
            var c2 = small.allocate(70L << 20);
            var keep2 = small.allocate(40L << 20);
            a.free();
            c2.free();
            assertThrows(IllegalStateException.class, () -> small.allocate(100L << 20));
            MallocBdev b = MallocBdev.create("Chunked", (100L << 20) / 4096, 4096, null, small);
            BdevRegistry reg = new BdevRegistry(group);
            reg.register(b);
            BdevDesc d = reg.open("Chunked", true, (t, x) -> {
            });
            Reactor r = group.reactor(0);
            BdevChannel ch = TestReactors.on(r, d::getIoChannel);
            // an I/O across the 64 MiB chunk boundary
            long off = (64L << 20) / 4096 - 2;
            MemorySegment w = ARENA.allocate(4 * 4096, 4096);
            for (long j = 0; j < w.byteSize(); j++) {
                w.set(ValueLayout.JAVA_BYTE, j, (byte) (j * 7));
            }
            assertTrue(io(r, c -> d.write(ch, w, off, 4, c, null)).success());
            MemorySegment rd = ARENA.allocate(4 * 4096, 4096);
            assertTrue(io(r, c -> d.read(ch, rd, off, 4, c, null)).success());
            assertEquals(-1, rd.mismatch(w));
            assertTrue(io(r, c -> d.writeZeroes(ch, off + 1, 2, c, null)).success());
            assertTrue(io(r, c -> d.read(ch, rd, off, 4, c, null)).success());
            assertEquals(-1, rd.asSlice(4096, 8192).mismatch(ARENA.allocate(8192)));
            assertEquals(-1, rd.asSlice(0, 4096).mismatch(w.asSlice(0, 4096)));
            TestReactors.on(r, () -> {
                d.putIoChannel(ch);
                return null;
            });
            d.close();
            reg.unregister("Chunked").get(10, TimeUnit.SECONDS);
            keep1.free();
            keep2.free();
        }
    }
}
