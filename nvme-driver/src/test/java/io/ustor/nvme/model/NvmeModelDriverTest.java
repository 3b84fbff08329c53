package io.ustor.nvme.model;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.Errno;
import io.ustor.nvme.ErrorLogEntry;
import io.ustor.nvme.IdentifyController;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeNamespace;
import io.ustor.nvme.NvmeQpair;
import io.ustor.nvme.NvmeStatus;
import io.ustor.nvme.SmartLog;
import io.ustor.nvme.internal.NvmeCommands;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real driver ({@link NvmeController}, {@link NvmeQpair}) against the in-memory controller model running on its
 * own thread: bring-up and identify, I/O with data checks (PRP1/PRP2, PRP lists, scatter lists), queue-full
 * queuing, error statuses, reset with I/O in flight, timeout handling (Abort, then reset) and device removal.
 */
class NvmeModelDriverTest {
    private static DmaMemory dma;

    @BeforeAll
    static void openDma() {
        dma = ModelFixture.hugeDma();
    }

    @AfterAll
    static void closeDma() {
        if (dma != null) {
            dma.close();
        }
    }

    private static NvmeModelOptions small() {
        return NvmeModelOptions.defaults().withNamespaceBytes(16L << 20);
    }

    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void bringUpAndIdentify(int blockSize) {
        try (ModelFixture f = new ModelFixture(dma, small().withBlockSize(blockSize).withSerialNumber("SN" + blockSize),
                NvmeControllerOptions.defaults())) {
            NvmeController c = f.ctrlr;
            IdentifyController id = c.identify();
            assertEquals(ModelPciDevice.VENDOR_ID, id.vendorId());
            assertEquals("SN" + blockSize, id.serialNumber());
            assertEquals(ModelIdentify.MODEL_NUMBER, id.modelNumber());
            assertEquals("0.1", id.firmwareRevision());
            assertEquals("1.4.0", id.versionString());
            assertEquals(0x00010400, c.version());
            assertEquals(512 << 10, id.maxTransferBytes(), "MDTS 7");
            assertEquals(512 << 10, c.maxTransferBytes());
            assertTrue(id.supportsCompare() && id.supportsWriteZeroes() && id.supportsDatasetManagement());
            assertTrue(id.volatileWriteCache());
            assertEquals(0x66, id.sqes());
            assertEquals(0x44, id.cqes());
            assertEquals(1, id.namespaceCount());
            assertEquals("nqn.2026-11.io.ustor:model:SN" + blockSize, id.subsystemNqn());
            assertEquals(1024, c.mqes());
            assertEquals(16, c.maxIoQueues(), "asked for 64, the model grants 16");
            assertEquals(1000, c.readyTimeoutMs());
            List<NvmeNamespace> nss = c.namespaces();
            assertEquals(1, nss.size());
            NvmeNamespace ns = nss.getFirst();
            assertEquals(1, ns.nsid());
            assertEquals(blockSize, ns.blockSize());
            assertEquals((16L << 20) / blockSize, ns.numBlocks());
            assertTrue(ns.deallocatedReadsZero());
            assertEquals(blockSize == 512 ? 0 : 1, ns.lbaFormatIndex());
            assertEquals(0, c.getFeature(NvmeCommands.FEAT_VOLATILE_WRITE_CACHE, 0) & 0xfffffffe);
            c.setFeature(NvmeCommands.FEAT_VOLATILE_WRITE_CACHE, 0);
            assertEquals(0, c.getFeature(NvmeCommands.FEAT_VOLATILE_WRITE_CACHE, 0));
            assertEquals((15 << 16) | 15, c.getFeature(NvmeCommands.FEAT_NUMBER_OF_QUEUES, 0));
            SmartLog smart = c.smartLog();
            assertEquals(310, smart.temperatureKelvin());
            assertEquals(100, smart.availableSpare());
            assertTrue(c.errorLog(16).isEmpty());
            NvmeNamespace formatted = c.format(1, blockSize == 512 ? 1 : 0);
            assertEquals(blockSize == 512 ? 4096 : 512, formatted.blockSize());
            assertNull(f.model.fatalReason());
        }
    }

    @Test
    void driverRefusesOrdinaryMemory() {
        try (DmaMemory plain = DmaMemory.open(DmaOptions.defaults().withNoHuge(true));
             NvmeControllerModel model = NvmeControllerModel.create("Plain0", "0000:ff:00.1", small())) {
            model.start();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> NvmeController.attach("Plain0", model.device(), plain, NvmeControllerOptions.defaults()));
            assertTrue(e.getMessage().contains("DMA-capable"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void readWriteSizesAndOffsets(int blockSize) {
        try (ModelFixture f = new ModelFixture(dma, small().withBlockSize(blockSize), NvmeControllerOptions.defaults())) {
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            DmaBuffer out = dma.allocate(1 << 20, 4096);
            DmaBuffer in = dma.allocate(1 << 20, 4096);
            Completions done = new Completions();
            try {
                // one page (PRP1), two pages (PRP2), PRP lists, the largest transfer; for 512-byte blocks also buffers
                // starting inside a page (PRP1 offset), which makes a 12 KiB transfer touch four pages
                int[] sizes = {blockSize, 4096, 8192, 12288, 65536, 128 << 10, 512 << 10};
                int[] offsets = blockSize == 512 ? new int[]{0, 512, 3584} : new int[]{0};
                int tag = 0;
                long lba = 0;
                for (int size : sizes) {
                    for (int offset : offsets) {
                        int nlb = size / blockSize;
                        fill(out.segment().asSlice(offset, size), tag);
                        in.segment().fill((byte) 0);
                        assertEquals(0, qp.write(1, lba, nlb, out.address() + offset, size, done, tag));
                        done.await(qp, 2 * tag + 1);
                        assertEquals(0, qp.read(1, lba, nlb, in.address() + offset, size, done, tag + 10_000));
                        done.await(qp, 2 * tag + 2);
                        assertEquals(0, done.statusOf(tag), NvmeStatus.name(done.statusOf(tag)));
                        assertEquals(0, done.statusOf(tag + 10_000));
                        String what = size + " bytes at buffer offset " + offset;
                        assertArrayEquals(out.segment().asSlice(offset, size).toArray(JAVA_BYTE),
                                in.segment().asSlice(offset, size).toArray(JAVA_BYTE), what);
                        assertArrayEquals(out.segment().asSlice(offset, size).toArray(JAVA_BYTE),
                                f.model.media().asSlice(lba * blockSize, size).toArray(JAVA_BYTE), what + " on the medium");
                        lba += nlb;
                        tag++;
                    }
                }
                assertEquals(0, f.model.lostCompletions());
                SmartLog smart = f.ctrlr.smartLog();
                assertEquals(tag, smart.hostWriteCommands());
                assertEquals(tag, smart.hostReadCommands());
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                out.free();
                in.free();
            }
        }
    }

    @Test
    void scatterListWriteThenContiguousRead() {
        try (ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults())) {
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            DmaBuffer a = dma.allocate(3 * 4096, 4096);
            DmaBuffer in = dma.allocate(16384, 4096);
            Completions done = new Completions();
            try {
                fill(a.segment(), 7);
                // 1 KiB ending a page, two whole pages, then 1 KiB starting a page: 10 KiB in four PRP pages
                int cid = qp.begin(done, 1);
                assertEquals(0, qp.addBuffer(cid, a.address() + 3072, 1024));
                assertEquals(0, qp.addBuffer(cid, a.address() + 4096, 8192 - 4096));
                assertEquals(0, qp.addBuffer(cid, a.address() + 8192, 4096));
                assertEquals(-Errno.EINVAL, qp.addBuffer(cid, a.address() + 100, 512), "a piece not starting a page");
                qp.cancel(cid);
                cid = qp.begin(done, 1);
                qp.addBuffer(cid, a.address() + 3072, 1024);
                qp.addBuffer(cid, a.address() + 4096, 8192);
                assertEquals(0, qp.submitRw(cid, NvmeCommands.NVM_WRITE, 1, 40, 18, 0));
                done.await(qp, 1);
                assertEquals(0, done.statusOf(1));
                assertEquals(0, qp.read(1, 40, 18, in.address(), 9216, done, 2));
                done.await(qp, 2);
                byte[] expect = new byte[9216];
                MemorySegment.copy(a.segment(), JAVA_BYTE, 3072, expect, 0, 9216);
                assertArrayEquals(expect, in.segment().asSlice(0, 9216).toArray(JAVA_BYTE));
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                a.free();
                in.free();
            }
        }
    }

    @Test
    void compareWriteZeroesDeallocateFlush() {
        try (ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults())) {
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            DmaBuffer buf = dma.allocate(8192, 4096);
            Completions done = new Completions();
            try {
                fill(buf.segment(), 3);
                qp.write(1, 1000, 16, buf.address(), 8192, done, 1);
                done.await(qp, 1);
                qp.compare(1, 1000, 16, buf.address(), 8192, done, 2);
                done.await(qp, 2);
                assertEquals(0, done.statusOf(2), "same data");
                buf.segment().set(JAVA_BYTE, 8000, (byte) ~buf.segment().get(JAVA_BYTE, 8000));
                qp.compare(1, 1000, 16, buf.address(), 8192, done, 3);
                done.await(qp, 3);
                assertEquals(NvmeStatus.COMPARE_FAILURE, done.statusOf(3));
                assertTrue(NvmeStatus.name(done.statusOf(3)).startsWith("Compare Failure"));
                qp.writeZeroes(1, 1002, 2, false, done, 4);
                qp.deallocate(1, 1010, 3, done, 5);
                qp.flush(1, done, 6);
                done.await(qp, 6);
                assertEquals(List.of(0, 0, 0), done.statuses.subList(3, 6));
                buf.segment().fill((byte) 0x55);
                qp.read(1, 1000, 16, buf.address(), 8192, done, 7);
                done.await(qp, 7);
                MemorySegment s = buf.segment();
                assertTrue(allZero(s.asSlice(2 * 512, 2 * 512)), "written zeroes");
                assertTrue(allZero(s.asSlice(10 * 512, 3 * 512)), "deallocated blocks read zeroes");
                assertFalse(allZero(s.asSlice(4 * 512, 512)));
                assertFalse(allZero(s.asSlice(13 * 512, 512)));
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                buf.free();
            }
        }
    }

    @Test
    void fullSubmissionQueueQueuesCommands() {
        NvmeControllerOptions options = NvmeControllerOptions.defaults().withIoQueueSlots(64).withDelayDoorbell(false);
        try (ModelFixture f = new ModelFixture(dma, small().withMaxQueueEntries(4), options)) {
            assertEquals(4, f.ctrlr.mqes());
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            assertEquals(4, qp.entries(), "clamped to MQES + 1");
            DmaBuffer buf = dma.allocate(64 * 4096, 4096);
            Completions done = new Completions();
            try {
                for (int i = 0; i < 64; i++) {
                    fill(buf.segment().asSlice(i * 4096L, 4096), i);
                    assertEquals(0, qp.write(1, i * 8L, 8, buf.address() + i * 4096L, 4096, done, i), "write " + i);
                }
                assertTrue(qp.queuedFullCount() > 0, "commands waited for room");
                assertEquals(-Errno.ENOMEM, qp.flush(1, done, 99), "every slot busy");
                done.await(qp, 64);
                for (int i = 0; i < 64; i++) {
                    assertEquals(0, done.statusOf(i));
                    assertArrayEquals(buf.segment().asSlice(i * 4096L, 4096).toArray(JAVA_BYTE),
                            f.model.media().asSlice(i * 4096L, 4096).toArray(JAVA_BYTE), "block group " + i);
                }
                assertEquals(0, f.model.lostCompletions());
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                buf.free();
            }
        }
    }

    @Test
    void errorStatusesAreDecodedAndLogged() {
        try (ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults())) {
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            DmaBuffer buf = dma.allocate(4096, 4096);
            Completions done = new Completions();
            try {
                f.model.failNextIo(1, 0x281); // media error: Unrecovered Read Error
                qp.read(1, 77, 8, buf.address(), 4096, done, 1);
                qp.read(1, 32768, 8, buf.address(), 4096, done, 2); // past the end (16 MiB = 32768 blocks)
                qp.read(2, 0, 8, buf.address(), 4096, done, 3);
                done.await(qp, 3);
                assertEquals(0x281, done.statusOf(1));
                assertEquals("Unrecovered Read Error (sct 2 sc 0x81)", NvmeStatus.name(done.statusOf(1)));
                assertEquals(NvmeStatus.LBA_OUT_OF_RANGE, done.statusOf(2));
                assertEquals(NvmeStatus.INVALID_NAMESPACE, done.statusOf(3));
                assertEquals(3, qp.errorCount());
                List<ErrorLogEntry> log = f.ctrlr.errorLog(8);
                assertEquals(3, log.size());
                ErrorLogEntry newest = log.getFirst();
                assertEquals(3, newest.errorCount());
                assertEquals(NvmeStatus.INVALID_NAMESPACE, newest.status());
                assertEquals(2, newest.nsid());
                ErrorLogEntry first = log.get(2);
                assertEquals(0x281, first.status());
                assertEquals(77, first.lba());
                assertEquals(qp.qid(), first.sqid());
                assertEquals(3, f.ctrlr.smartLog().errorLogEntries());
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                buf.free();
            }
        }
    }

    @Test
    void resetWithIoInFlight() {
        try (ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults())) {
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            DmaBuffer buf = dma.allocate(8 * 4096, 4096);
            Completions done = new Completions();
            try {
                f.model.holdNextIo(4, false);
                for (int i = 0; i < 8; i++) {
                    assertEquals(0, qp.read(1, i * 8L, 8, buf.address() + i * 4096L, 4096, done, i));
                }
                done.await(qp, 4);
                awaitHeld(f.model, qp, 4);
                assertEquals(4, qp.outstanding());
                f.ctrlr.reset();
                assertEquals(8, done.count());
                assertEquals(4, done.statuses.stream().filter(s -> s == -Errno.ECANCELED).count(), done.statuses.toString());
                assertEquals(1, f.model.resets());
                assertEquals(0, f.model.heldCommands(), "the reset dropped them");
                assertEquals(0, qp.read(1, 0, 8, buf.address(), 4096, done, 100), "the queue pair works after the reset");
                done.await(qp, 9);
                assertEquals(0, done.statusOf(100));
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                buf.free();
            }
        }
    }

    /**
     * The driver's timeout handling over the model: a command outstanding past the I/O timeout is found by
     * {@link NvmeQpair#findTimedOut}; an Abort the controller honours completes it with Command Abort Requested; one
     * the controller does not honour leaves it outstanding, and the controller reset completes it with ECANCELED.
     * (The same steps {@code NvmeChannel}'s health poller takes; the clock is moved forward instead of waiting.)
     */
    @Test
    void timeoutAbortThenReset() {
        long timeoutMs = 1000;
        try (ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults().withIoTimeoutMs(timeoutMs))) {
            NvmeQpair qp = f.ctrlr.createIoQpair(0);
            DmaBuffer buf = dma.allocate(4096, 4096);
            Completions done = new Completions();
            long timeoutNanos = f.ctrlr.options().ioTimeoutMs() * 1_000_000L;
            try {
                f.model.holdNextIo(1, true);
                qp.read(1, 0, 8, buf.address(), 4096, done, 1);
                awaitHeld(f.model, qp, 1);
                assertEquals(-1, qp.findTimedOut(System.nanoTime(), timeoutNanos), "not timed out yet");
                int cid = qp.findTimedOut(System.nanoTime() + 2 * timeoutNanos, timeoutNanos);
                assertTrue(cid >= 0);
                assertEquals(NvmeCommands.NVM_READ, qp.opcodeOf(cid));
                assertTrue(f.ctrlr.abort(qp.qid(), cid), "the controller aborted it");
                done.await(qp, 1);
                assertEquals(NvmeStatus.ABORT_REQUESTED, done.statusOf(1));
                assertEquals(1, f.model.aborts());

                f.model.holdNextIo(1, false);
                qp.read(1, 0, 8, buf.address(), 4096, done, 2);
                awaitHeld(f.model, qp, 1);
                cid = qp.findTimedOut(System.nanoTime() + 2 * timeoutNanos, timeoutNanos);
                assertFalse(f.ctrlr.abort(qp.qid(), cid), "the controller did not abort it");
                qp.processCompletions(0);
                assertEquals(1, qp.outstanding(), "still outstanding after the Abort");
                f.ctrlr.reset();
                assertEquals(-Errno.ECANCELED, done.statusOf(2));
                assertEquals(0, qp.outstanding());
                qp.read(1, 0, 8, buf.address(), 4096, done, 3);
                done.await(qp, 3);
                assertEquals(0, done.statusOf(3));
            } finally {
                f.ctrlr.deleteIoQpair(qp);
                buf.free();
            }
        }
    }

    @Test
    void surpriseRemovalFailsOutstandingIoWithEnodev() {
        ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults());
        NvmeQpair qp = f.ctrlr.createIoQpair(0);
        DmaBuffer buf = dma.allocate(4096, 4096);
        Completions done = new Completions();
        try {
            f.model.holdNextIo(3, false);
            for (int i = 0; i < 3; i++) {
                qp.read(1, i, 1, buf.address(), 512, done, i);
            }
            awaitHeld(f.model, qp, 3);
            f.model.remove();
            // no health poller here: the queue pair itself notices CSTS reading all ones while it waits
            done.await(qp, 3);
            assertEquals(List.of(-Errno.ENODEV, -Errno.ENODEV, -Errno.ENODEV), done.statuses);
            assertTrue(f.ctrlr.isFailed());
            assertTrue(f.ctrlr.isRemoved());
            assertEquals(-Errno.ENODEV, f.ctrlr.checkHealth());
            assertEquals(-Errno.ENODEV, qp.read(1, 0, 1, buf.address(), 512, done, 9), "no new I/O");
        } finally {
            f.ctrlr.deleteIoQpair(qp);
            buf.free();
            f.close();
        }
    }

    @Test
    void removalRequestQuiescesTheDevice() {
        ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults());
        NvmeQpair qp = f.ctrlr.createIoQpair(0);
        DmaBuffer buf = dma.allocate(4096, 4096);
        Completions done = new Completions();
        try {
            f.model.holdNextIo(2, false);
            qp.read(1, 0, 1, buf.address(), 512, done, 1);
            qp.read(1, 1, 1, buf.address(), 512, done, 2);
            awaitHeld(f.model, qp, 2);
            f.model.requestRemoval();
            assertEquals(-Errno.ENODEV, f.ctrlr.checkHealth());
            assertTrue(f.ctrlr.isRemoved());
            assertFalse(f.model.device().busMasterEnabled(), "bus mastering off before buffers are given back");
            done.await(qp, 2);
            assertEquals(List.of(-Errno.ENODEV, -Errno.ENODEV), done.statuses);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (f.model.resets() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(1, f.model.resets(), "CC.EN cleared: the controller dropped its queues");
            assertEquals(0, f.model.heldCommands());
        } finally {
            f.ctrlr.deleteIoQpair(qp);
            buf.free();
            f.close();
        }
    }

    @Test
    void queuePairsOnSeveralThreads() throws Exception {
        try (ModelFixture f = new ModelFixture(dma, small(), NvmeControllerOptions.defaults())) {
            int threads = 3;
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts[t] = Thread.ofPlatform().start(() -> {
                    try {
                        ioLoop(f.ctrlr, id);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            for (Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(0, f.model.lostCompletions());
        }
    }

    /** Writes then reads back 200 4 KiB blocks in this thread's own region at queue depth 8. */
    private static void ioLoop(NvmeController c, int id) {
        NvmeQpair qp = c.createIoQpair(64);
        DmaBuffer buf = dma.allocate(8 * 4096, 4096);
        DmaBuffer in = dma.allocate(4096, 4096);
        Completions done = new Completions();
        try {
            long base = id * 2048L;
            int n = 200;
            for (int i = 0; i < n; i++) {
                MemorySegment s = buf.segment().asSlice((i % 8) * 4096L, 4096);
                if (i >= 8) {
                    done.await(qp, i - 7);
                }
                fill(s, id * 1000 + i);
                assertEquals(0, qp.write(1, base + i * 8L, 8, s.address(), 4096, done, i));
            }
            done.await(qp, n);
            for (int i = 0; i < n; i++) {
                assertEquals(0, done.statusOf(i));
                MemorySegment expect = MemorySegment.ofArray(new byte[4096]);
                fill(expect, id * 1000 + i);
                qp.read(1, base + i * 8L, 8, in.address(), 4096, done, n + i);
                done.await(qp, n + i + 1);
                assertEquals(-1, expect.mismatch(in.segment()), "thread " + id + " block " + i);
            }
        } finally {
            c.deleteIoQpair(qp);
            buf.free();
            in.free();
        }
    }

    /** Waits until the model holds {@code n} commands; rings the doorbell first (the driver delays it to its next poll). */
    private static void awaitHeld(NvmeControllerModel model, NvmeQpair qp, int n) {
        qp.ringSq();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (model.heldCommands() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the model holds " + model.heldCommands() + " of " + n + " commands");
            }
            Thread.onSpinWait();
        }
    }

    private static void fill(MemorySegment s, int seed) {
        for (long i = 0; i < s.byteSize(); i++) {
            s.set(JAVA_BYTE, i, (byte) (seed * 31 + i * 13 + (i >>> 9)));
        }
    }

    private static boolean allZero(MemorySegment s) {
        for (long i = 0; i < s.byteSize(); i++) {
            if (s.get(JAVA_BYTE, i) != 0) {
                return false;
            }
        }
        return true;
    }
}
