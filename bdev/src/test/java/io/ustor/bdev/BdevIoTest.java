package io.ustor.bdev;

import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.bdev.nullbdev.NullBdev;
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
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Validation, splitting, write_zeroes emulation, io-wait, stats, reset, through the layer with real modules. */
class BdevIoTest {
    static ReactorGroup group;
    static Reactor r;
    static DmaMemory memory;
    static final BdevEventCallback IGNORE = (t, d) -> {
    };
    static final Arena ARENA = Arena.ofShared();

    @BeforeAll
    static void start() {
        group = TestReactors.one();
        r = group.reactor(0);
        memory = DmaMemory.open(DmaOptions.defaults().withNoHuge(true));
    }

    @AfterAll
    static void stop() {
        group.close();
        memory.close();
    }

    /** An open bdev with a channel on reactor 0. */
    record Open(BdevRegistry reg, Bdev bdev, BdevDesc desc, BdevChannel ch) {
        int call(java.util.concurrent.Callable<Integer> op) throws Exception {
            return TestReactors.on(r, op);
        }

        Completion.Result run(IoOp op) throws Exception {
            Completion c = new Completion();
            int rc = TestReactors.on(r, () -> {
                c.submitting = true;
                try {
                    return op.submit(c);
                } finally {
                    c.submitting = false;
                }
            });
            assertEquals(0, rc, "submit rc");
            Completion.Result res = c.await();
            assertFalse(res.insideSubmit(), "callback ran inside submit");
            return res;
        }
    }

    interface IoOp {
        int submit(Completion c);
    }

    static Open open(Bdev b, BdevOptions options, boolean write) throws Exception {
        BdevRegistry reg = new BdevRegistry(group, options);
        reg.register(b);
        BdevDesc d = reg.open(b.name(), write, IGNORE);
        BdevChannel ch = TestReactors.on(r, d::getIoChannel);
        return new Open(reg, b, d, ch);
    }

    static Open open(Bdev b) throws Exception {
        return open(b, BdevOptions.defaults(), true);
    }

    static MemorySegment pattern(long bytes, int seed) {
        MemorySegment s = ARENA.allocate(bytes, 4096);
        for (long i = 0; i < bytes; i += 4) {
            s.set(ValueLayout.JAVA_INT_UNALIGNED, i, (int) (i * 31 + seed * 1_000_003L));
        }
        return s;
    }

    static void close(Open o) throws Exception {
        TestReactors.on(r, () -> {
            o.desc.putIoChannel(o.ch);
            return null;
        });
        o.desc.close();
        o.reg.unregister(o.bdev.name()).get(10, TimeUnit.SECONDS);
    }

    @Test
    void validationErrors() throws Exception {
        Open o = open(NullBdev.create("Val0", 100, 512, null));
        MemorySegment buf = ARENA.allocate(8192, 4096);
        Completion c = new Completion();
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(o.ch, buf, 99, 2, c, null)), "past the end");
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(o.ch, buf, -1, 1, c, null)), "negative offset");
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(o.ch, buf, 0, 0, c, null)), "zero blocks");
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(o.ch, buf, Long.MAX_VALUE, 2, c, null)), "overflow");
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(o.ch, buf, 0, 17, c, null)), "buffer too small");
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(o.ch, buf, 0, 1, null, null)), "no callback");
        MemorySegment[] iovs = {ARENA.allocate(512), ARENA.allocate(512)};
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.readv(o.ch, iovs, 2, 0, 3, c, null)), "iovs too small");
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.readv(o.ch, iovs, 3, 0, 1, c, null)), "iovCount past array");
        assertEquals(-Errno.EOPNOTSUPP, o.call(() -> o.desc.unmap(o.ch, 0, 1, c, null)), "null has no unmap");
        assertFalse(c.done());
        assertTrue(o.run(x -> o.desc.flush(o.ch, 0, 1, x, null)).success(), "flush without a cache succeeds");

        BdevDesc ro = o.reg.open("Val0", false, IGNORE);
        assertEquals(-Errno.EBADF, o.call(() -> ro.write(o.ch, buf, 0, 1, c, null)));
        assertEquals(-Errno.EBADF, o.call(() -> ro.writev(o.ch, iovs, 1, 0, 1, c, null)));
        assertEquals(-Errno.EBADF, o.call(() -> ro.writeZeroes(o.ch, 0, 1, c, null)));
        assertEquals(0, o.call(() -> ro.read(o.ch, buf, 0, 1, c, null)));
        assertTrue(c.await().success());
        ro.close();

        Open other = open(NullBdev.create("Val1", 100, 512, null));
        assertEquals(-Errno.EINVAL, o.call(() -> o.desc.read(other.ch, buf, 0, 1, new Completion(), null)), "foreign channel");
        close(other);
        close(o);
    }

    @Test
    void nullReadsLeaveTheBufferAlone() throws Exception {
        Open o = open(NullBdev.create("Null0", 1 << 20, 512, null));
        MemorySegment buf = pattern(4096, 7);
        MemorySegment copy = ARENA.allocate(4096);
        copy.copyFrom(buf);
        assertTrue(o.run(c -> o.desc.write(o.ch, buf, 10, 8, c, null)).success());
        Completion.Result res = o.run(c -> o.desc.read(o.ch, buf, 10, 8, c, "arg"));
        assertTrue(res.success());
        assertEquals("arg", res.cbArg());
        assertEquals(-1, buf.mismatch(copy));
        assertTrue(o.run(c -> o.desc.writeZeroes(o.ch, 0, 100, c, null)).success());
        assertTrue(o.run(c -> o.desc.reset(o.ch, c, null)).success());
        assertEquals("Null disk", o.bdev.productName());
        close(o);
    }

    @Test
    void mallocWritesReadBackAndCompares() throws Exception {
        Open o = open(MallocBdev.create("Malloc0", 2048, 512, null, memory));
        assertEquals("Malloc disk", o.bdev.productName());
        MemorySegment w = pattern(64 * 512, 1);
        assertTrue(o.run(c -> o.desc.write(o.ch, w, 100, 64, c, null)).success());
        MemorySegment rd = ARENA.allocate(64 * 512);
        assertTrue(o.run(c -> o.desc.read(o.ch, rd, 100, 64, c, null)).success());
        assertEquals(-1, rd.mismatch(w));
        assertTrue(o.run(c -> o.desc.compare(o.ch, w, 100, 64, c, null)).success());
        MemorySegment other = pattern(64 * 512, 2);
        Completion.Result mis = o.run(c -> o.desc.compare(o.ch, other, 100, 64, c, null));
        assertEquals(BdevIoStatus.MISCOMPARE, mis.status());
        assertEquals(Errno.EILSEQ, mis.errno());
        // unmap and write_zeroes zero the blocks
        assertTrue(o.run(c -> o.desc.unmap(o.ch, 100, 8, c, null)).success());
        assertTrue(o.run(c -> o.desc.writeZeroes(o.ch, 120, 8, c, null)).success());
        assertTrue(o.run(c -> o.desc.flush(o.ch, 0, 2048, c, null)).success());
        assertTrue(o.run(c -> o.desc.read(o.ch, rd, 100, 64, c, null)).success());
        for (int blk = 0; blk < 64; blk++) {
            boolean zero = blk < 8 || (blk >= 20 && blk < 28);
            MemorySegment got = rd.asSlice(blk * 512L, 512);
            MemorySegment expect = zero ? ARENA.allocate(512) : w.asSlice(blk * 512L, 512);
            assertEquals(-1, got.mismatch(expect), "block " + blk);
        }
        close(o);
    }

    @Test
    void splitsAtMaxTransferAndBoundaryWithManyIovs() throws Exception {
        RecordingBdev b = new RecordingBdev("Split0", 4096, 512, EnumSet.of(IoType.READ, IoType.WRITE), 8, 16);
        Open o = open(b);
        // 5 iovs of odd sizes (multiples of 512 but not of the child size), one longer than needed
        long[] sizes = {512 * 3, 512 * 7, 512 * 1, 512 * 20, 512 * 40};
        long total = 512 * 60;
        MemorySegment src = pattern(total, 9);
        MemorySegment[] iovs = new MemorySegment[sizes.length];
        long off = 0;
        for (int i = 0; i < sizes.length; i++) {
            iovs[i] = ARENA.allocate(sizes[i]);
            long n = Math.min(sizes[i], total - off);
            MemorySegment.copy(src, off, iovs[i], 0, n);
            off += n;
        }
        assertTrue(o.run(c -> o.desc.writev(o.ch, iovs, iovs.length, 13, 60, c, null)).success());
        List<RecordingBdev.Submitted> subs = b.submittedCopy();
        long next = 13;
        for (RecordingBdev.Submitted s : subs) {
            assertEquals(IoType.WRITE, s.type());
            assertEquals(next, s.offsetBlocks());
            assertTrue(s.numBlocks() <= 8, "max transfer: " + s);
            assertTrue(s.offsetBlocks() / 16 == (s.offsetBlocks() + s.numBlocks() - 1) / 16, "crosses boundary: " + s);
            assertEquals(s.numBlocks() * 512, s.bytes());
            next += s.numBlocks();
        }
        assertEquals(73, next);
        assertEquals(-1, b.data().asSlice(13 * 512, total).mismatch(src));
        // read it back through one buffer, also split
        MemorySegment rd = ARENA.allocate(total);
        assertTrue(o.run(c -> o.desc.read(o.ch, rd, 13, 60, c, null)).success());
        assertEquals(-1, rd.mismatch(src));
        IoStats st = o.bdev.stats();
        assertEquals(1, st.ops(IoType.WRITE), "a split request counts once");
        assertEquals(1, st.ops(IoType.READ));
        assertEquals(total, st.bytes(IoType.WRITE));
        close(o);
    }

    @Test
    void splitContinuesWhenThePoolRunsDry() throws Exception {
        RecordingBdev b = new RecordingBdev("Split1", 4096, 512, EnumSet.of(IoType.READ, IoType.WRITE), 4, 0);
        Open o = open(b, BdevOptions.defaults().withIoPoolSize(3), true);
        MemorySegment src = pattern(512 * 100, 3);
        assertTrue(o.run(c -> o.desc.write(o.ch, src, 0, 100, c, null)).success());
        assertEquals(25, b.submittedCopy().size());
        assertEquals(-1, b.data().asSlice(0, 512 * 100).mismatch(src));
        assertEquals(3, o.ch.ioPoolSize(), "no growth needed while children are in flight");
        // a pool of one: the parent takes it, so the layer must grow rather than deadlock
        Open one = open(new RecordingBdev("Split2", 4096, 512, EnumSet.of(IoType.READ, IoType.WRITE), 4, 0),
                BdevOptions.defaults().withIoPoolSize(1), true);
        assertTrue(one.run(c -> one.desc.write(one.ch, src, 0, 100, c, null)).success());
        assertTrue(one.ch.poolGrowths() >= 1);
        close(one);
        close(o);
    }

    @Test
    void splitChildFailureFailsTheParent() throws Exception {
        RecordingBdev b = new RecordingBdev("Split3", 4096, 512, EnumSet.of(IoType.READ, IoType.WRITE), 4, 0);
        Open o = open(b);
        b.fail = true;
        Completion.Result res = o.run(c -> o.desc.read(o.ch, ARENA.allocate(512 * 20), 0, 20, c, null));
        assertFalse(res.success());
        assertEquals(BdevIoStatus.FAILED, res.status());
        assertEquals(Errno.EIO, res.errno());
        assertEquals(1, o.bdev.stats().errors(IoType.READ));
        assertEquals(0, o.bdev.stats().ops(IoType.READ));
        b.fail = false;
        close(o);
    }

    @Test
    void writeZeroesIsEmulatedWithChunkedWrites() throws Exception {
        RecordingBdev b = new RecordingBdev("Wz0", 4096, 512, EnumSet.of(IoType.READ, IoType.WRITE), 0, 0);
        Open o = open(b, BdevOptions.defaults().withZeroBufferBytes(65536), true);
        MemorySegment src = pattern(512 * 4096, 5);
        assertTrue(o.run(c -> o.desc.write(o.ch, src, 0, 4096, c, null)).success());
        b.clearSubmitted();
        Completion.Result res = o.run(c -> o.desc.writeZeroes(o.ch, 100, 1000, c, null));
        assertTrue(res.success());
        assertEquals(IoType.WRITE_ZEROES, res.type());
        List<RecordingBdev.Submitted> subs = b.submittedCopy();
        assertEquals(8, subs.size(), "1000 blocks in writes of at most 128 blocks (64 KiB)");
        assertTrue(subs.stream().allMatch(s -> s.type() == IoType.WRITE && s.numBlocks() <= 128));
        MemorySegment data = b.data();
        assertEquals(-1, data.asSlice(0, 100 * 512).mismatch(src.asSlice(0, 100 * 512)));
        assertEquals(-1, data.asSlice(100 * 512, 1000 * 512).mismatch(ARENA.allocate(1000 * 512)));
        assertEquals(-1, data.asSlice(1100 * 512).mismatch(src.asSlice(1100 * 512)));
        // without WRITE it cannot be emulated
        Open ro = open(new RecordingBdev("Wz1", 64, 512, EnumSet.of(IoType.READ), 0, 0));
        assertEquals(-Errno.EOPNOTSUPP, ro.call(() -> ro.desc.writeZeroes(ro.ch, 0, 1, new Completion(), null)));
        close(ro);
        close(o);
    }

    @Test
    void ioWaitRetriesWhenAnIoIsFreed() throws Exception {
        RecordingBdev b = RecordingBdev.simple("Wait0");
        b.hold = true;
        Open o = open(b, BdevOptions.defaults().withIoPoolSize(2), true);
        MemorySegment buf = ARENA.allocate(512);
        Completion c1 = new Completion(), c2 = new Completion(), c3 = new Completion();
        assertEquals(0, o.call(() -> o.desc.read(o.ch, buf, 0, 1, c1, null)));
        assertEquals(0, o.call(() -> o.desc.read(o.ch, buf, 1, 1, c2, null)));
        assertEquals(-Errno.ENOMEM, o.call(() -> o.desc.read(o.ch, buf, 2, 1, c3, null)));
        int[] retryRc = {Integer.MIN_VALUE};
        BdevIoWaitEntry entry = () -> retryRc[0] = o.desc.read(o.ch, buf, 2, 1, c3, null);
        assertEquals(0, o.call(() -> o.desc.queueIoWait(o.ch, entry)));
        assertEquals(2, b.submittedCopy().size());
        TestReactors.on(r, () -> b.releaseHeld(o.ch));
        assertTrue(c1.await().success());
        assertTrue(c2.await().success());
        TestReactors.await("retry", () -> b.submittedCopy().size() == 3);
        assertEquals(0, retryRc[0]);
        TestReactors.on(r, () -> b.releaseHeld(o.ch));
        assertTrue(c3.await().success());
        b.hold = false;
        close(o);
    }

    @Test
    void resetWaitsForOutstandingIoAndHoldsNewIo() throws Exception {
        RecordingBdev b = RecordingBdev.simple("Reset0");
        b.hold = true;
        Open o = open(b);
        MemorySegment buf = ARENA.allocate(512);
        Completion c1 = new Completion(), c2 = new Completion(), reset = new Completion(), after = new Completion();
        assertEquals(0, o.call(() -> o.desc.read(o.ch, buf, 0, 1, c1, null)));
        assertEquals(0, o.call(() -> o.desc.write(o.ch, buf, 1, 1, c2, null)));
        assertEquals(0, o.call(() -> o.desc.reset(o.ch, reset, null)));
        Thread.sleep(50);
        assertFalse(reset.done(), "reset must wait for outstanding I/O");
        assertEquals(0, o.call(() -> o.desc.read(o.ch, buf, 5, 1, after, null)));
        Thread.sleep(20);
        assertEquals(2, b.submittedCopy().size(), "new I/O is held during the reset");
        TestReactors.on(r, () -> b.releaseHeld(o.ch));
        assertTrue(c1.await().success());
        assertTrue(c2.await().success());
        // the reset reaches the module (and is held there)
        TestReactors.await("reset at the module", () -> b.submittedCopy().size() == 3);
        assertEquals(IoType.RESET, b.submittedCopy().get(2).type());
        assertFalse(after.done());
        TestReactors.on(r, () -> b.releaseHeld(o.ch));
        assertTrue(reset.await().success());
        TestReactors.await("held read submitted", () -> b.submittedCopy().size() == 4);
        TestReactors.on(r, () -> b.releaseHeld(o.ch));
        assertTrue(after.await().success());
        b.hold = false;
        close(o);
    }

    @Test
    void statsCountOpsBytesLatencyAndErrors() throws Exception {
        RecordingBdev b = RecordingBdev.simple("Stats0");
        Open o = open(b);
        MemorySegment buf = ARENA.allocate(8 * 512);
        for (int i = 0; i < 5; i++) {
            assertTrue(o.run(c -> o.desc.read(o.ch, buf, 0, 8, c, null)).success());
        }
        for (int i = 0; i < 3; i++) {
            assertTrue(o.run(c -> o.desc.write(o.ch, buf, 0, 2, c, null)).success());
        }
        b.fail = true;
        assertFalse(o.run(c -> o.desc.write(o.ch, buf, 0, 2, c, null)).success());
        b.fail = false;
        IoStats s = o.bdev.stats();
        assertEquals(5, s.ops(IoType.READ));
        assertEquals(5 * 8 * 512, s.bytes(IoType.READ));
        assertEquals(3, s.ops(IoType.WRITE));
        assertEquals(3 * 2 * 512, s.bytes(IoType.WRITE));
        assertEquals(1, s.errors(IoType.WRITE));
        assertTrue(s.minLatencyTicks(IoType.READ) > 0);
        assertTrue(s.minLatencyTicks(IoType.READ) <= s.maxLatencyTicks(IoType.READ));
        assertTrue(s.latencyTicks(IoType.READ) >= s.maxLatencyTicks(IoType.READ));
        assertEquals(0, s.minLatencyTicks(IoType.UNMAP));
        Map<String, Object> m = o.bdev.iostat();
        assertEquals(List.of("name", "bytes_read", "num_read_ops", "bytes_written", "num_write_ops", "bytes_unmapped",
                "num_unmap_ops", "bytes_copied", "num_copy_ops", "read_latency_ticks", "max_read_latency_ticks",
                "min_read_latency_ticks", "write_latency_ticks", "max_write_latency_ticks", "min_write_latency_ticks",
                "unmap_latency_ticks", "max_unmap_latency_ticks", "min_unmap_latency_ticks", "copy_latency_ticks",
                "max_copy_latency_ticks", "min_copy_latency_ticks", "io_error"), List.copyOf(m.keySet()));
        assertEquals(5L, m.get("num_read_ops"));
        assertEquals(Map.of("write", 1L), m.get("io_error"));
        assertEquals(5, o.ch.stats().ops(IoType.READ));
        // closing the channel keeps its counts in the bdev's totals
        TestReactors.on(r, () -> {
            o.desc.putIoChannel(o.ch);
            return null;
        });
        TestReactors.await("channel destroyed", () -> b.channelsDestroyed == 1);
        assertEquals(5, o.bdev.stats().ops(IoType.READ));
        assertEquals(1, o.bdev.stats().errors(IoType.WRITE));
        o.desc.close();
        o.reg.unregister(o.bdev.name()).get(10, TimeUnit.SECONDS);
    }

    @Test
    void moduleNomemIsResubmitted() throws Exception {
        RecordingBdev b = new RecordingBdev("Nomem0", 4096, 512, EnumSet.of(IoType.READ, IoType.WRITE), 4, 0);
        Open o = open(b);
        MemorySegment src = pattern(512 * 16, 11);
        b.nomemCount = 3;
        assertTrue(o.run(c -> o.desc.write(o.ch, src, 8, 16, c, null)).success());
        assertEquals(0, b.nomemCount);
        assertEquals(7, b.submittedCopy().size(), "4 children, 3 of them tried twice");
        assertEquals(-1, b.data().asSlice(8 * 512, 16 * 512).mismatch(src));
        close(o);
    }

    @Test
    void registryReportsBdevsAndIostatInSpdkShape() throws Exception {
        Open o = open(NullBdev.create("Rep0", 100, 512, null));
        assertTrue(o.run(c -> o.desc.read(o.ch, ARENA.allocate(512), 0, 1, c, null)).success());
        Map<String, Object> st = o.reg.iostat(null);
        assertEquals(List.of("tick_rate", "ticks", "bdevs"), List.copyOf(st.keySet()));
        assertEquals(1_000_000_000L, st.get("tick_rate"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> bdevs = (List<Map<String, Object>>) st.get("bdevs");
        assertEquals("Rep0", bdevs.get(0).get("name"));
        assertEquals(1L, bdevs.get(0).get("num_read_ops"));
        assertEquals(512L, bdevs.get(0).get("bytes_read"));
        assertEquals("Rep0", o.reg.describe("Rep0").get(0).get("name"));
        assertEquals(1, o.reg.describe(null).size());
        assertThrows(BdevException.class, () -> o.reg.describe("missing"));
        assertThrows(BdevException.class, () -> o.reg.iostat("missing"));
        close(o);
    }

    @Test
    void hotRemoveTellsDescriptors() throws Exception {
        RecordingBdev b = RecordingBdev.simple("Hot0");
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(b);
        java.util.concurrent.CompletableFuture<BdevEventType> ev = new java.util.concurrent.CompletableFuture<>();
        reg.open("Hot0", false, (t, d) -> {
            ev.complete(t);
            d.close();
        });
        java.util.concurrent.CompletableFuture<Void> gone = b.vanish();
        assertEquals(BdevEventType.REMOVE, ev.get(10, TimeUnit.SECONDS));
        gone.get(10, TimeUnit.SECONDS);
        assertTrue(b.destructed);
        assertNull(reg.lookup("Hot0"));
    }

    @Test
    void inlineCompletionsDoNotRecurse() throws Exception {
        Open o = open(NullBdev.create("Loop0", 1 << 20, 512, null));
        MemorySegment buf = ARENA.allocate(512);
        final int total = 200_000;
        java.util.concurrent.CompletableFuture<Integer> done = new java.util.concurrent.CompletableFuture<>();
        BdevIoCallback loop = new BdevIoCallback() {
            int n;
            boolean inSubmit;
            int maxDepth;

            @Override
            public void onComplete(BdevIo io, boolean success, Object cbArg) {
                if (inSubmit) {
                    done.completeExceptionally(new AssertionError("callback inside submit"));
                    return;
                }
                if (++n == total) {
                    done.complete(n);
                    return;
                }
                inSubmit = true;
                int rc = o.desc.read(o.ch, buf, n % 1000, 1, this, null);
                inSubmit = false;
                if (rc != 0) {
                    done.completeExceptionally(new AssertionError("rc " + rc));
                }
            }
        };
        assertEquals(0, o.call(() -> o.desc.read(o.ch, buf, 0, 1, loop, null)));
        assertEquals(total, done.get(60, TimeUnit.SECONDS));
        close(o);
    }
}
