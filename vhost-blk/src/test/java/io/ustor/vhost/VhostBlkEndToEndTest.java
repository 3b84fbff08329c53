package io.ustor.vhost;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.env.Errno;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.vhost.virtio.Virtio;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * ustor's vhost-user client driving ustor's vhost-user-blk server in-process, over a real Unix socket; every test
 * on split rings and on packed rings (the controller offers VIRTIO_F_RING_PACKED, the client takes it).
 */
class VhostBlkEndToEndTest {
    @TempDir
    Path dir;
    ReactorGroup group;
    BdevRegistry bdevs;
    Arena arena;

    @BeforeEach
    void start() {
        group = ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        bdevs.register(MallocBdev.create("Malloc0", 32768, 512, null)); // 16 MiB
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        bdevs.unregisterAll().join();
        group.close();
        arena.close();
    }

    private MemorySegment random(long bytes, long seed) {
        MemorySegment s = arena.allocate(bytes, 4096);
        byte[] b = new byte[(int) bytes];
        new Random(seed).nextBytes(b);
        MemorySegment.copy(b, 0, s, JAVA_BYTE, 0, b.length);
        return s;
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void dataGoesThroughTwoQueuesOnTwoReactors(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.0", dir, "Malloc0").withPackedRing(packed).withMaxQueues(2), bdevs)) {
            VirtioUserBlkBdev virtio = VirtioUserBlkBdev.attach("VirtioBlk0", ctrl.options().socketPath(), 2, 128);
            bdevs.register(virtio);
            assertEquals(512, virtio.blockSize());
            assertEquals(32768, virtio.numBlocks());
            assertEquals(2, virtio.client().queueCount());
            assertEquals(packed, virtio.client().packed(), "ring layout negotiated");
            assertEquals(2, ctrl.runningQueues());
            BdevDesc d = bdevs.open("VirtioBlk0", true, (t, x) -> { });
            BdevDesc direct = bdevs.open("Malloc0", false, (t, x) -> { });
            try {
                // 1 MiB write (split into 128 KiB requests by the bdev layer) on reactor 0, read back on reactor 1.
                MemorySegment data = random(1 << 20, 1);
                assertEquals(0, BlkHarness.write(group.reactor(0), d, data, 100, 2048));
                MemorySegment back = arena.allocate(1 << 20, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(1), d, back, 100, 2048));
                assertEquals(-1, data.mismatch(back));
                // It landed on the server's bdev.
                MemorySegment raw = arena.allocate(1 << 20, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(0), direct, raw, 100, 2048));
                assertEquals(-1, data.mismatch(raw));
                // Small unaligned-offset I/O, the last block, and beyond the end (refused by the layer).
                MemorySegment one = random(512, 2);
                assertEquals(0, BlkHarness.write(group.reactor(1), d, one, 32767, 1));
                MemorySegment oneBack = arena.allocate(512, 512);
                assertEquals(0, BlkHarness.read(group.reactor(0), d, oneBack, 32767, 1));
                assertEquals(-1, one.mismatch(oneBack));
                assertEquals(-Errno.EINVAL, BlkHarness.read(group.reactor(0), d, oneBack, 32768, 1));
                // Flush.
                assertEquals(0, BlkHarness.run(group.reactor(0), d, (dd, ch, cb) -> dd.flush(ch, 0, 32768, cb, null)));
            } finally {
                d.close();
                direct.close();
            }
            bdevs.unregister("VirtioBlk0").join();
        }
    }

    /**
     * Buffers in the process's DMA memory (hugetlbfs page files, shared with the server at attach) go by their guest
     * address with no bounce copy; other buffers still bounce, in the same queue.
     */
    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void dataInSharedDmaMemoryGoesWithoutABounceCopy(boolean packed) throws Exception {
        io.ustor.env.DmaMemory dma = io.ustor.env.DmaMemory.get();
        org.junit.jupiter.api.Assumptions.assumeTrue(dma.hugepages() && dma.hugetlbfsDir() != null,
                "needs huge pages on a hugetlbfs mount (.ci/run mounts one)");
        io.ustor.env.DmaBuffer[] bufs = new io.ustor.env.DmaBuffer[8];
        for (int i = 0; i < bufs.length; i++) {
            bufs[i] = dma.allocate(65536); // before attach: their region is shared
        }
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.dma", dir, "Malloc0").withPackedRing(packed), bdevs)) {
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioDma", ctrl.options().socketPath(), 1, 64);
            bdevs.register(v);
            assertTrue(v.client().sharedDmaRegions() > 0, "DMA memory regions shared");
            BdevDesc d = bdevs.open("VirtioDma", true, (t, x) -> { });
            BdevDesc raw = bdevs.open("Malloc0", false, (t, x) -> { });
            try {
                io.ustor.reactor.Reactor r = group.reactor(0);
                long before = group.reactor(0).call(() -> v.client().ring(0).directRequests()).get();
                for (int i = 0; i < 4; i++) {
                    MemorySegment src = bufs[i].segment();
                    src.copyFrom(random(65536, 40 + i));
                    assertEquals(0, BlkHarness.write(r, d, src, 1000 + 128L * i, 128));
                }
                for (int i = 0; i < 4; i++) {
                    MemorySegment back = bufs[4 + i].segment();
                    back.fill((byte) 0x5a);
                    assertEquals(0, BlkHarness.read(r, d, back, 1000 + 128L * i, 128));
                    assertEquals(-1, bufs[i].segment().mismatch(back), "read back through the virtio bdev, request " + i);
                    MemorySegment viaBounce = arena.allocate(65536, 4096);
                    assertEquals(0, BlkHarness.read(r, d, viaBounce, 1000 + 128L * i, 128));
                    assertEquals(-1, bufs[i].segment().mismatch(viaBounce), "read into ordinary memory, request " + i);
                    MemorySegment onServer = arena.allocate(65536, 4096);
                    assertEquals(0, BlkHarness.read(r, raw, onServer, 1000 + 128L * i, 128));
                    assertEquals(-1, bufs[i].segment().mismatch(onServer), "on the server's bdev, request " + i);
                }
                long after = group.reactor(0).call(() -> v.client().ring(0).directRequests()).get();
                assertEquals(8, after - before, "the 4 writes and 4 reads of DMA buffers went direct, the others bounced");
            } finally {
                d.close();
                raw.close();
                for (io.ustor.env.DmaBuffer b : bufs) {
                    b.free();
                }
            }
            bdevs.unregister("VirtioDma").join();
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void writeZeroesAndDiscardReadBackAsZeroes(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.1", dir, "Malloc0").withPackedRing(packed), bdevs)) {
            VirtioUserBlkBdev virtio = VirtioUserBlkBdev.attach("VirtioBlk1", ctrl.options().socketPath(), 1, 64);
            bdevs.register(virtio);
            assertTrue(virtio.supportsIoType(io.ustor.bdev.IoType.UNMAP));
            assertTrue(virtio.supportsIoType(io.ustor.bdev.IoType.WRITE_ZEROES));
            BdevDesc d = bdevs.open("VirtioBlk1", true, (t, x) -> { });
            try {
                MemorySegment data = random(64 * 512, 3);
                assertEquals(0, BlkHarness.write(group.reactor(0), d, data, 0, 64));
                assertEquals(0, BlkHarness.run(group.reactor(0), d, (dd, ch, cb) -> dd.writeZeroes(ch, 8, 8, cb, null)));
                assertEquals(0, BlkHarness.run(group.reactor(0), d, (dd, ch, cb) -> dd.unmap(ch, 32, 16, cb, null)));
                MemorySegment back = arena.allocate(64 * 512, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(0), d, back, 0, 64));
                for (int blk = 0; blk < 64; blk++) {
                    MemorySegment b = back.asSlice(blk * 512L, 512);
                    boolean zeroed = (blk >= 8 && blk < 16) || (blk >= 32 && blk < 48);
                    if (zeroed) {
                        assertEquals(-1, b.mismatch(arena.allocate(512)), "block " + blk + " reads as zeroes");
                    } else {
                        assertEquals(-1, b.mismatch(data.asSlice(blk * 512L, 512)), "block " + blk + " kept its data");
                    }
                }
            } finally {
                d.close();
            }
            bdevs.unregister("VirtioBlk1").join();
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void readOnlyControllerRefusesWrites(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.ro", dir, "Malloc0").withPackedRing(packed).withReadOnly(true), bdevs)) {
            VirtioUserBlkBdev ro = VirtioUserBlkBdev.attach("VirtioRo", ctrl.options().socketPath(), 1, 64);
            assertTrue(ro.readOnly(), "VIRTIO_BLK_F_RO offered");
            assertFalse(ro.supportsIoType(io.ustor.bdev.IoType.WRITE));
            ro.detachUnregistered();
            // A driver that ignores RO: its writes fail with IOERR, reads still work.
            VirtioUserBlkBdev rogue = VirtioUserBlkBdev.attach("VirtioRogue", ctrl.options().socketPath(), 1, 64,
                    64 * 1024, 1L << Virtio.BLK_F_RO);
            bdevs.register(rogue);
            BdevDesc d = bdevs.open("VirtioRogue", true, (t, x) -> { });
            try {
                MemorySegment data = random(4096, 4);
                assertEquals(Errno.EIO, BlkHarness.write(group.reactor(0), d, data, 0, 8));
                assertEquals(0, BlkHarness.read(group.reactor(0), d, data, 0, 8));
                assertEquals(Errno.EIO, BlkHarness.run(group.reactor(0), d, (dd, ch, cb) -> dd.writeZeroes(ch, 0, 8, cb, null)));
            } finally {
                d.close();
            }
            bdevs.unregister("VirtioRogue").join();
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void frontEndMayReconnect(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.re", dir, "Malloc0").withPackedRing(packed), bdevs)) {
            for (int round = 0; round < 3; round++) {
                VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioRe", ctrl.options().socketPath(), 1, 32);
                bdevs.register(v);
                BdevDesc d = bdevs.open("VirtioRe", true, (t, x) -> { });
                MemorySegment data = random(4096, round);
                assertEquals(0, BlkHarness.write(group.reactor(1), d, data, 8L * round, 8));
                MemorySegment back = arena.allocate(4096, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(1), d, back, 8L * round, 8));
                assertEquals(-1, data.mismatch(back));
                d.close();
                bdevs.unregister("VirtioRe").join();
            }
            assertEquals(3, ctrl.connections());
        }
    }

    /** Submits {@code count} requests at once on one reactor; returns how many failed. */
    private static int burst(io.ustor.reactor.Reactor r, BdevDesc d, boolean write, MemorySegment[] bufs, long blocksEach)
            throws Exception {
        java.util.concurrent.CompletableFuture<Integer> done = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(bufs.length);
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        r.call(() -> {
            io.ustor.bdev.BdevChannel ch = d.getIoChannel();
            io.ustor.bdev.BdevIoCallback cb = (io, ok, arg) -> {
                if (!ok) {
                    failed.incrementAndGet();
                }
                if (left.decrementAndGet() == 0) {
                    r.submit(() -> d.putIoChannel(ch));
                    done.complete(failed.get());
                }
            };
            for (int i = 0; i < bufs.length; i++) {
                int rc = write ? d.write(ch, bufs[i], i * blocksEach, blocksEach, cb, null)
                        : d.read(ch, bufs[i], i * blocksEach, blocksEach, cb, null);
                if (rc != 0) {
                    failed.incrementAndGet();
                    if (left.decrementAndGet() == 0) {
                        done.complete(failed.get());
                    }
                }
            }
            return null;
        }).get(10, java.util.concurrent.TimeUnit.SECONDS);
        return done.get(60, java.util.concurrent.TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void manyRequestsInFlightWithDirectChainsAndNoEventIndex(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.d", dir, "Malloc0").withPackedRing(packed), bdevs)) {
            // Refuse INDIRECT_DESC and EVENT_IDX: three ring descriptors per request (42 slots in a ring of 128) and
            // flag-based notification suppression. 96 requests at once also exercise the bdev layer's NOMEM retry.
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioDirect", ctrl.options().socketPath(), 1, 128,
                    64 * 1024, (1L << Virtio.F_INDIRECT_DESC) | (1L << Virtio.F_EVENT_IDX));
            assertFalse(Virtio.has(v.client().features(), Virtio.F_INDIRECT_DESC));
            assertFalse(Virtio.has(v.client().features(), Virtio.F_EVENT_IDX));
            assertEquals(42, v.client().ring(0).slots());
            assertEquals(packed, v.client().packed());
            bdevs.register(v);
            BdevDesc d = bdevs.open("VirtioDirect", true, (t, x) -> { });
            try {
                MemorySegment[] out = new MemorySegment[96], in = new MemorySegment[96];
                for (int i = 0; i < out.length; i++) {
                    out[i] = random(8192, 100 + i);
                    in[i] = arena.allocate(8192, 4096);
                }
                assertEquals(0, burst(group.reactor(0), d, true, out, 16));
                assertEquals(0, burst(group.reactor(0), d, false, in, 16));
                for (int i = 0; i < out.length; i++) {
                    assertEquals(-1, out[i].mismatch(in[i]), "request " + i);
                }
            } finally {
                d.close();
            }
            bdevs.unregister("VirtioDirect").join();
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void manyRequestsInFlightWithIndirectAndEventIndex(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.i", dir, "Malloc0").withPackedRing(packed), bdevs)) {
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioIndirect", ctrl.options().socketPath(), 1, 256);
            assertTrue(Virtio.has(v.client().features(), Virtio.F_INDIRECT_DESC));
            assertTrue(Virtio.has(v.client().features(), Virtio.F_EVENT_IDX));
            bdevs.register(v);
            BdevDesc d = bdevs.open("VirtioIndirect", true, (t, x) -> { });
            try {
                MemorySegment[] out = new MemorySegment[200], in = new MemorySegment[200];
                for (int i = 0; i < out.length; i++) {
                    out[i] = random(4096, 500 + i);
                    in[i] = arena.allocate(4096, 4096);
                }
                for (int round = 0; round < 3; round++) {
                    assertEquals(0, burst(group.reactor(1), d, true, out, 8));
                    assertEquals(0, burst(group.reactor(1), d, false, in, 8));
                    for (int i = 0; i < out.length; i++) {
                        assertEquals(-1, out[i].mismatch(in[i]), "request " + i);
                    }
                }
            } finally {
                d.close();
            }
            bdevs.unregister("VirtioIndirect").join();
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void memoryTableIsReplacedUnderLoadWithoutLosingRequests(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.m", dir, "Malloc0").withPackedRing(packed), bdevs)) {
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioMem", ctrl.options().socketPath(), 1, 128);
            bdevs.register(v);
            BdevDesc d = bdevs.open("VirtioMem", true, (t, x) -> { });
            try {
                MemorySegment[] out = new MemorySegment[64], in = new MemorySegment[64];
                for (int i = 0; i < out.length; i++) {
                    out[i] = random(4096, 900 + i);
                    in[i] = arena.allocate(4096, 4096);
                }
                java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
                Thread remapper = Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 20; i++) {
                            v.client().resendMemoryTable();
                        }
                    } catch (Exception e) {
                        failure.set(e);
                    }
                });
                for (int round = 0; round < 10; round++) {
                    assertEquals(0, burst(group.reactor(0), d, true, out, 8));
                    assertEquals(0, burst(group.reactor(0), d, false, in, 8));
                    for (int i = 0; i < out.length; i++) {
                        assertEquals(-1, out[i].mismatch(in[i]), "round " + round + " request " + i);
                    }
                }
                remapper.join();
                assertNull(failure.get());
                assertEquals(1, ctrl.runningQueues(), "the queue runs again on the new table");
            } finally {
                d.close();
            }
            bdevs.unregister("VirtioMem").join();
        }
    }
}
