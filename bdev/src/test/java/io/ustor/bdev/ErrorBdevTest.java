package io.ustor.bdev;

import io.ustor.bdev.error.ErrorBdev;
import io.ustor.bdev.error.ErrorType;
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

/** The error injection bdev over a malloc bdev: each error type, counts, queue depth, reset, removal. */
class ErrorBdevTest {
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

    private record Rig(BdevRegistry reg, ErrorBdev ee, BdevDesc d, BdevChannel ch, Reactor r) {
        Completion read(MemorySegment buf, long lba) throws Exception {
            Completion c = new Completion();
            assertEquals(0, (int) TestReactors.on(r, () -> d.read(ch, buf, lba, buf.byteSize() / 512, c, null)));
            return c;
        }

        Completion write(MemorySegment buf, long lba) throws Exception {
            Completion c = new Completion();
            assertEquals(0, (int) TestReactors.on(r, () -> d.write(ch, buf, lba, buf.byteSize() / 512, c, null)));
            return c;
        }

        /** Gives back the channel and the descriptor (the channel's end aborts what it held). */
        void release() throws Exception {
            TestReactors.on(r, () -> {
                d.putIoChannel(ch);
                return null;
            });
            d.close();
        }

        void close() throws Exception {
            release();
            reg.unregister(ee.name()).get(20, TimeUnit.SECONDS);
        }
    }

    private static Rig rig(String base) throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(MallocBdev.create(base, 2048, 512, null));
        ErrorBdev ee = ErrorBdev.create(reg, base, null);
        reg.register(ee);
        Reactor r = group.reactor(0);
        BdevDesc d = reg.open(ee.name(), true, (t, x) -> { });
        return new Rig(reg, ee, d, TestReactors.on(r, d::getIoChannel), r);
    }

    @Test
    void failureHitsTheNextNOfItsTypeOnly() throws Exception {
        Rig t = rig("Base0");
        assertEquals("EE_Base0", t.ee().name());
        assertEquals("error", t.reg().lookup("Base0").claimedBy());
        MemorySegment buf = ARENA.allocate(4096, 512);
        t.ee().inject(IoType.READ, ErrorType.FAILURE, 2, 0, 0, 0);
        assertTrue(t.write(buf, 0).await().success(), "writes are not armed");
        for (int i = 0; i < 2; i++) {
            Completion.Result c = t.read(buf, 0).await();
            assertFalse(c.success());
            assertEquals(Errno.EIO, c.errno());
        }
        assertTrue(t.read(buf, 0).await().success(), "two hits, then reads pass");
        assertEquals(0, t.ee().remaining(IoType.READ));

        // "all" arms every type; clear disarms
        t.ee().inject(null, ErrorType.FAILURE, 5, 0, 0, 0);
        assertFalse(t.write(buf, 0).await().success());
        t.ee().clear();
        assertTrue(t.write(buf, 0).await().success());
        assertTrue(t.read(buf, 0).await().success());
        t.close();
        assertFalse(t.reg().lookup("Base0").claimed());
    }

    @Test
    void nomemIsRetriedByTheLayerAndPendingWaitsForResumeOrReset() throws Exception {
        Rig t = rig("Base1");
        MemorySegment buf = ARENA.allocate(512, 512);
        t.ee().inject(IoType.WRITE, ErrorType.NOMEM, 3, 0, 0, 0);
        assertTrue(t.write(buf, 1).await().success(), "NOMEM three times, resubmitted, then written");
        assertEquals(0, t.ee().remaining(IoType.WRITE));

        t.ee().inject(IoType.READ, ErrorType.PENDING, 1, 0, 0, 0);
        Completion resumed = t.read(buf, 1);
        TestReactors.await("the read to be held", () -> t.ee().remaining(IoType.READ) == 0);
        t.ee().resumePending().get(20, TimeUnit.SECONDS);
        assertTrue(resumed.await().success(), "resume_pending lets a held read go on to the base");

        t.ee().inject(null, ErrorType.PENDING, 1, 0, 0, 0); // "all": the reset below is not held
        Completion held = t.read(buf, 1);
        Thread.sleep(100);
        assertFalse(held.done(), "held until a reset");
        Completion reset = new Completion();
        assertEquals(0, (int) TestReactors.on(t.r(), () -> t.d().reset(t.ch(), reset, null)));
        assertTrue(reset.await().success());
        Completion.Result h = held.await();
        assertFalse(h.success());
        assertEquals(BdevIoStatus.ABORTED, h.status());
        t.close();
    }

    @Test
    void corruptDataFlipsAByteOfReadsAndWrites() throws Exception {
        Rig t = rig("Base2");
        MemorySegment data = ARENA.allocate(1024, 512);
        data.fill((byte) 0x5a);
        assertTrue(t.write(data, 8).await().success());
        t.ee().inject(IoType.READ, ErrorType.CORRUPT_DATA, 1, 0, 700, 0xff);
        MemorySegment back = ARENA.allocate(1024, 512);
        assertTrue(t.read(back, 8).await().success());
        assertEquals(700, data.mismatch(back));
        assertEquals((byte) (0x5a ^ 0xff), back.get(ValueLayout.JAVA_BYTE, 700));
        assertTrue(t.read(back, 8).await().success());
        assertEquals(-1, data.mismatch(back), "one hit: the stored data was never touched");

        t.ee().inject(IoType.WRITE, ErrorType.CORRUPT_DATA, 1, 0, 3, 0x01);
        MemorySegment w = ARENA.allocate(512, 512);
        w.fill((byte) 0x10);
        assertTrue(t.write(w, 20).await().success());
        MemorySegment stored = ARENA.allocate(512, 512);
        assertTrue(t.read(stored, 20).await().success());
        assertEquals((byte) 0x11, stored.get(ValueLayout.JAVA_BYTE, 3), "the base stored the flipped byte");
        assertThrows(BdevException.class, () -> t.ee().inject(IoType.READ, ErrorType.CORRUPT_DATA, 1, 0, 0, 0),
                "a corrupt_value of 0 would change nothing");
        t.close();
    }

    @Test
    void queueDepthAndBaseRemoval() throws Exception {
        Rig t = rig("Base3");
        MemorySegment buf = ARENA.allocate(512, 512);
        t.ee().inject(IoType.READ, ErrorType.FAILURE, 1, 2, 0, 0);
        assertTrue(t.read(buf, 0).await().success(), "one in flight: below queue_depth 2");
        assertEquals(1, t.ee().remaining(IoType.READ));
        t.ee().inject(IoType.READ, ErrorType.PENDING, 1, 0, 0, 0);
        Completion held = t.read(buf, 0);
        t.ee().inject(IoType.READ, ErrorType.FAILURE, 1, 2, 0, 0);
        assertFalse(t.read(buf, 0).await().success(), "the held read counts: depth 2 reached");

        t.release();
        assertEquals(BdevIoStatus.ABORTED, held.await().status(), "the channel's end aborts what it held");
        t.reg().unregister("Base3").get(20, TimeUnit.SECONDS);
        TestReactors.await("the error bdev to follow its base", () -> t.reg().lookup("EE_Base3") == null);
    }
}
