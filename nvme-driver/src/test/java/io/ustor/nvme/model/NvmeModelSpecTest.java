package io.ustor.nvme.model;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.nvme.NvmeStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model against the NVMe base specification, driven by hand-written commands ({@link RawHost}) rather than the
 * driver: register values, controller enable and shutdown, queue management errors, PRP lists with chaining, PRP
 * validation and I/O statuses. The model is stepped inline; no threads.
 */
class NvmeModelSpecTest {
    private static final int READ = 0x02, WRITE = 0x01, WRITE_ZEROES = 0x08, DSM = 0x09, FLUSH = 0x00, COMPARE = 0x05;
    private static DmaMemory dma;
    private RawHost host;

    @BeforeAll
    static void openDma() {
        // the model checks addresses against the attached memory but needs no huge pages (only the driver insists)
        dma = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withGrowthChunk(4L << 20));
    }

    @AfterAll
    static void closeDma() {
        dma.close();
    }

    @BeforeEach
    void start() {
        host = new RawHost(NvmeControllerModel.create("Spec0", "0000:ff:00.0",
                NvmeModelOptions.defaults().withNamespaceBytes(4L << 20).withMaxQueueEntries(64).withMaxIoQueues(4)), dma);
    }

    @AfterEach
    void stop() {
        host.close();
    }

    @Test
    void registersDescribeTheController() {
        long cap = host.read64(RawHost.CAP);
        assertEquals(63, cap & 0xffff, "MQES");
        assertEquals(1, (cap >>> 16) & 1, "CQR");
        assertEquals(2, (cap >>> 24) & 0xff, "TO");
        assertEquals(0, (cap >>> 32) & 0xf, "DSTRD");
        assertEquals(1, (cap >>> 37) & 0xff, "CSS: NVM");
        assertEquals(0, (cap >>> 48) & 0xff, "MPSMIN/MPSMAX: 4 KiB");
        assertEquals(0x00010400, host.read32(RawHost.VS));
        assertEquals(0x5553, host.model.device().readConfig(0, 2));
        assertEquals(0x010802, host.model.device().readConfig(0x08, 4) >>> 8, "class code: NVMe");
    }

    @Test
    void disableResetsAndShutdownCompletes() {
        RawHost.Queue q = host.createQueue(1, 8);
        host.write32(RawHost.CC, RawHost.CC_IO_SIZES | (1 << 14) | 1);
        host.model.process();
        assertEquals(2 << 2, host.read32(RawHost.CSTS) & 0xc, "CSTS.SHST: shutdown complete");
        host.write32(RawHost.CC, 0);
        host.model.process();
        assertEquals(0, host.read32(RawHost.CSTS) & 1, "CSTS.RDY clears on disable");
        assertEquals(1, host.model.resets());
        // enabled again, the I/O queue is gone
        host.admin.tail = host.admin.head = 0;
        host.admin.phase = 1;
        host.admin.cq.segment().fill((byte) 0);
        host.write32(RawHost.CC, RawHost.CC_IO_SIZES | 1);
        host.model.process();
        assertEquals(1, host.read32(RawHost.CSTS) & 1);
        assertEquals(0x101, host.admin.run(0x00, 0, 0, 0, 1, 0, 0, 0).status(), "delete SQ 1 after reset: Invalid Queue Identifier");
        q.free();
    }

    @Test
    void badControllerConfigurationIsFatal() {
        host.write32(RawHost.CC, 0);
        host.model.process();
        host.write32(RawHost.CC, RawHost.CC_IO_SIZES | (1 << 7) | 1); // MPS 8 KiB: not supported
        host.model.process();
        assertEquals(2, host.read32(RawHost.CSTS) & 3, "CSTS.CFS set, RDY clear");
        assertNotNull(host.model.fatalReason());
    }

    @Test
    void queueManagementErrors() {
        RawHost.Queue admin = host.admin;
        DmaBuffer mem = dma.allocate(64 * 64, 4096);
        try {
            long a = mem.address();
            assertEquals(0x101, admin.run(0x05, 0, a, 0, (7 << 16), 1, 0, 0).status(), "create CQ 0");
            assertEquals(0x101, admin.run(0x05, 0, a, 0, (7 << 16) | 5, 1, 0, 0).status(), "create CQ beyond the granted queues");
            assertEquals(0x102, admin.run(0x05, 0, a, 0, (64 << 16) | 1, 1, 0, 0).status(), "65 entries > MQES + 1");
            assertEquals(0x02, admin.run(0x05, 0, a, 0, (7 << 16) | 1, 0, 0, 0).status(), "not contiguous (CAP.CQR)");
            assertEquals(0x13, admin.run(0x05, 0, a + 512, 0, (7 << 16) | 1, 1, 0, 0).status(), "base not page aligned");
            assertEquals(0x100, admin.run(0x01, 0, a, 0, (7 << 16) | 1, (1 << 16) | 1, 0, 0).status(), "SQ on a missing CQ");
            RawHost.Queue q = host.createQueue(1, 8);
            assertEquals(0x101, admin.run(0x05, 0, a, 0, (7 << 16) | 1, 1, 0, 0).status(), "CQ 1 exists");
            assertEquals(0x10c, admin.run(0x04, 0, 0, 0, 1, 0, 0, 0).status(), "delete CQ with its SQ");
            assertEquals(0x0c, admin.run(0x09, 0, 0, 0, 0x07, 0, 0, 0).status(), "number of queues after creating queues");
            assertEquals(0, admin.run(0x00, 0, 0, 0, 1, 0, 0, 0).status(), "delete SQ");
            assertEquals(0, admin.run(0x04, 0, 0, 0, 1, 0, 0, 0).status(), "delete CQ");
            assertEquals(0x101, admin.run(0x00, 0, 0, 0, 1, 0, 0, 0).status(), "delete SQ twice");
            assertEquals(0x01, admin.run(0x7f, 0, 0, 0, 0, 0, 0, 0).status(), "unknown admin opcode");
            RawHost.Cqe c = admin.run(0x02, 0, a, 0, 0x7f | (127 << 16), 0, 0, 0);
            assertEquals(0x109, c.status(), "unknown log page");
            assertTrue(c.dnr(), "DNR");
            assertEquals(0x0b, admin.run(0x06, 2, a, 0, 0x00, 0, 0, 0).status(), "identify of nsid 2 (NN = 1)");
            assertEquals(0x02, admin.run(0x06, 0, a, 0, 0x03, 0, 0, 0).status(), "unsupported CNS");
            q.free();
        } finally {
            mem.free();
        }
    }

    @Test
    void numberOfQueuesIsClampedAndReadBack() {
        RawHost.Cqe c = host.admin.run(0x09, 0, 0, 0, 0x07, (9 << 16) | 1, 0, 0);
        assertEquals(0, c.status());
        assertEquals((3 << 16) | 1, c.dw0(), "NCQA clamped to 4 queues, NSQA as asked");
        assertEquals((3 << 16) | 1, host.admin.run(0x0a, 0, 0, 0, 0x07, 0, 0, 0).dw0());
        assertEquals(0x10d, host.admin.run(0x09, 0, 0, 0, 0x80000006, 0, 0, 0).status(), "save bit: not saveable");
        assertEquals(0x101, host.admin.run(0x01, 0, 0, 0, (7 << 16) | 3, (1 << 16) | 1, 0, 0).status(), "SQ 3 > NSQA + 1");
    }

    @Test
    void prpListChainsAcrossListPages() {
        RawHost.Queue q = host.createQueue(1, 8);
        DmaBuffer data = dma.allocate(5 * 4096, 4096);
        DmaBuffer lists = dma.allocate(2 * 4096, 4096);
        DmaBuffer back = dma.allocate(4 * 4096, 4096);
        try {
            MemorySegment d = data.segment();
            for (int i = 0; i < d.byteSize(); i++) {
                d.set(JAVA_BYTE, i, (byte) (i * 7 + i / 4096));
            }
            // 16 KiB: PRP1 = page 0, then pages 2, 3, 4 (page 1 skipped); the list starts two entries before the end of
            // its page, so its last entry chains to the second list page
            long list = lists.address() + 4096 - 16;
            MemorySegment l = lists.segment();
            l.set(JAVA_LONG, 4096 - 16, data.address() + 2 * 4096);
            l.set(JAVA_LONG, 4096 - 8, lists.address() + 4096);
            l.set(JAVA_LONG, 4096, data.address() + 3 * 4096);
            l.set(JAVA_LONG, 4096 + 8, data.address() + 4 * 4096);
            RawHost.Cqe c = q.run(WRITE, 1, data.address(), list, 8, 0, 31, 0);
            assertEquals(0, c.status(), NvmeStatus.name(c.status()));
            assertEquals(1, c.sqid());
            assertEquals(q.tail, c.sqHead());
            RawHost.Cqe r = q.run(READ, 1, back.address(), back.address() + 4096, 8, 0, 7, 0);
            assertEquals(0, r.status());
            MemorySegment media = host.model.media();
            assertArrayEquals(d.asSlice(0, 4096).toArray(JAVA_BYTE), media.asSlice(8 * 512, 4096).toArray(JAVA_BYTE));
            assertArrayEquals(d.asSlice(2 * 4096, 3 * 4096).toArray(JAVA_BYTE), media.asSlice(8 * 512 + 4096, 3 * 4096).toArray(JAVA_BYTE));
            assertArrayEquals(d.asSlice(0, 4096).toArray(JAVA_BYTE), back.segment().asSlice(0, 4096).toArray(JAVA_BYTE));
        } finally {
            data.free();
            lists.free();
            back.free();
            q.free();
        }
    }

    @Test
    void prpValidation() {
        RawHost.Queue q = host.createQueue(1, 8);
        DmaBuffer data = dma.allocate(4 * 4096, 4096);
        DmaBuffer list = dma.allocate(4096, 4096);
        try {
            long a = data.address();
            assertStatus(0x13, q.run(READ, 1, a + 2, 0, 0, 0, 0, 0), "PRP1 not dword aligned");
            assertStatus(0, q.run(READ, 1, a + 4, 0, 0, 0, 0, 0), "PRP1 at any dword offset");
            assertStatus(0x13, q.run(READ, 1, a, a + 4096 + 512, 0, 0, 15, 0), "PRP2 (a page) with an offset");
            list.segment().set(JAVA_LONG, 0, a + 4096);
            list.segment().set(JAVA_LONG, 8, a + 2 * 4096 + 8);
            assertStatus(0x13, q.run(READ, 1, a, list.address(), 0, 0, 23, 0), "list entry with an offset");
            assertStatus(0x13, q.run(READ, 1, a, list.address() + 4, 0, 0, 23, 0), "list pointer not qword aligned");
            list.segment().set(JAVA_LONG, 8, a + 2 * 4096);
            assertStatus(0, q.run(READ, 1, a, list.address(), 0, 0, 23, 0), "valid list");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment outside = arena.allocate(8192, 4096);
                assertStatus(0x04, q.run(READ, 1, outside.address(), 0, 0, 0, 0, 0), "outside the attached DMA memory");
            }
            assertStatus(0x04, q.run(READ, 1, a, 0, 0, 0, 15, 0), "8 KiB with PRP2 = 0");
        } finally {
            data.free();
            list.free();
            q.free();
        }
    }

    @Test
    void ioStatusesAndData() {
        RawHost.Queue q = host.createQueue(2, 4);
        DmaBuffer buf = dma.allocate(4096, 4096);
        try {
            long blocks = host.model.numBlocks();
            long a = buf.address();
            assertStatus(0x80, q.run(READ, 1, a, 0, (int) blocks, 0, 0, 0), "LBA out of range");
            assertStatus(0x80, q.run(READ, 1, a, 0, (int) blocks - 1, 0, 1, 0), "range crosses the end");
            assertStatus(0x0b, q.run(READ, 2, a, 0, 0, 0, 0, 0), "namespace 2");
            assertStatus(0x01, q.run(0x7e, 1, a, 0, 0, 0, 0, 0), "unknown opcode");
            assertStatus(0, q.run(FLUSH, -1, 0, 0, 0, 0, 0, 0), "flush of every namespace");
            buf.segment().fill((byte) 0x3c);
            assertStatus(0, q.run(WRITE, 1, a, 0, 100, 0, 7, 0), "write");
            assertStatus(0, q.run(COMPARE, 1, a, 0, 100, 0, 7, 0), "compare equal");
            buf.segment().set(JAVA_BYTE, 4095, (byte) 0);
            assertStatus(NvmeStatus.COMPARE_FAILURE, q.run(COMPARE, 1, a, 0, 100, 0, 7, 0), "compare differs");
            assertStatus(0, q.run(WRITE_ZEROES, 1, 0, 0, 101, 0, 1, 0), "write zeroes of blocks 101-102");
            buf.segment().fill((byte) 0x11);
            assertStatus(0, q.run(READ, 1, a, 0, 100, 0, 7, 0), "read");
            assertEquals(0x3c, buf.segment().get(JAVA_BYTE, 511));
            assertEquals(0, buf.segment().get(JAVA_BYTE, 512), "zeroed block");
            assertEquals(0, buf.segment().get(JAVA_BYTE, 3 * 512 - 1), "zeroed block");
            assertEquals(0x3c, buf.segment().get(JAVA_BYTE, 3 * 512));
            // deallocate blocks 104..105 with a range list: reads back zeroes
            buf.segment().fill((byte) 0);
            buf.segment().set(JAVA_INT, 4, 2);
            buf.segment().set(JAVA_LONG, 8, 104);
            assertStatus(0, q.run(DSM, 1, a, 0, 0, 4, 0, 0), "deallocate");
            buf.segment().set(JAVA_LONG, 8, blocks - 1);
            assertStatus(0x80, q.run(DSM, 1, a, 0, 0, 4, 0, 0), "deallocate past the end");
            buf.segment().fill((byte) 0x11);
            assertStatus(0, q.run(READ, 1, a, 0, 100, 0, 7, 0), "read");
            assertEquals(0x3c, buf.segment().get(JAVA_BYTE, 4 * 512 - 1));
            assertEquals(0, buf.segment().get(JAVA_BYTE, 4 * 512), "deallocated block reads zeroes");
            assertEquals(0, buf.segment().get(JAVA_BYTE, 6 * 512 - 1));
            assertEquals(0x3c, buf.segment().get(JAVA_BYTE, 6 * 512));
            // the queue (4 entries) wraps several times: completions keep the phase tag straight
            for (int i = 0; i < 10; i++) {
                assertStatus(0, q.run(FLUSH, 1, 0, 0, 0, 0, 0, 0), "flush " + i);
            }
        } finally {
            buf.free();
            q.free();
        }
    }

    @Test
    void injectedFailuresAndHeldCommands() {
        RawHost.Queue q = host.createQueue(1, 8);
        try {
            host.model.failNextIo(2, 0x281);
            assertStatus(0x281, q.run(FLUSH, 1, 0, 0, 0, 0, 0, 0), "injected");
            assertStatus(0x281, q.run(FLUSH, 1, 0, 0, 0, 0, 0, 0), "injected");
            assertStatus(0, q.run(FLUSH, 1, 0, 0, 0, 0, 0, 0), "after the injected ones");
            host.model.holdNextIo(2, true);
            int held1 = q.submit(FLUSH, 1, 0, 0, 0, 0, 0, 0);
            int held2 = q.submit(FLUSH, 1, 0, 0, 0, 0, 0, 0);
            assertEquals(null, q.poll());
            assertEquals(2, host.model.heldCommands());
            RawHost.Cqe abort = host.admin.run(0x08, 0, 0, 0, (held1 << 16) | 1, 0, 0, 0);
            assertEquals(0, abort.status());
            assertEquals(0, abort.dw0() & 1, "aborted");
            RawHost.Cqe aborted = q.poll();
            assertEquals(held1, aborted.cid());
            assertEquals(0x07, aborted.status(), "Command Abort Requested");
            assertEquals(1, host.admin.run(0x08, 0, 0, 0, (999 << 16) | 1, 0, 0, 0).dw0() & 1, "unknown command: not aborted");
            // deleting the SQ completes what it still holds
            assertEquals(0, host.admin.run(0x00, 0, 0, 0, 1, 0, 0, 0).status());
            RawHost.Cqe deleted = q.poll();
            assertEquals(held2, deleted.cid());
            assertEquals(0x08, deleted.status(), "Command Aborted due to SQ Deletion");
            assertEquals(0, host.model.heldCommands());
            // hold on a new queue, then release: the command runs as if it had just arrived
            RawHost.Queue q2 = host.createQueue(2, 8);
            host.model.holdNextIo(1, false);
            int late = q2.submit(WRITE_ZEROES, 1, 0, 0, 5, 0, 0, 0);
            assertEquals(null, q2.poll());
            host.model.releaseHeld();
            RawHost.Cqe released = q2.poll();
            assertEquals(late, released.cid());
            assertEquals(0, released.status());
            assertEquals(0, host.model.heldCommands());
            assertEquals(0, host.model.lostCompletions());
            q2.free();
        } finally {
            q.free();
        }
    }

    @Test
    void logPagesEventsAndFormat() {
        DmaBuffer page = dma.allocate(4096, 4096);
        try {
            long a = page.address();
            RawHost.Queue q = host.createQueue(1, 8);
            assertStatus(0x80, q.run(READ, 1, a, 0, -1, 0, 0, 0), "an error for the log");
            // SMART from offset 176 (the error log entry count), 8 bytes
            page.segment().fill((byte) 0x77);
            assertStatus(0, host.admin.run(0x02, -1, a, 0, 0x02 | (1 << 16), 0, 176, 0), "SMART at an offset");
            assertEquals(1, page.segment().get(JAVA_LONG, 0));
            assertEquals(0x77, page.segment().get(JAVA_BYTE, 8), "nothing past the asked length");
            assertStatus(0, host.admin.run(0x02, 0, a, 0, 0x01 | (15 << 16), 0, 0, 0), "error log, newest entry");
            assertEquals(1, page.segment().get(JAVA_LONG, 0), "error count");
            assertEquals(1, page.segment().get(JAVA_SHORT, 8), "sqid");
            assertEquals(0x80, (page.segment().get(JAVA_SHORT, 12) >>> 1) & 0x7ff, "status");
            assertEquals(0xffffffffL, page.segment().get(JAVA_LONG, 16), "lba");
            assertStatus(0x02, host.admin.run(0x02, -1, a, 0, 0x02 | (1 << 16), 0, 512, 0), "offset past the page");
            assertStatus(0, host.admin.run(0x02, 0, a, 0, 0x01 | (15 << 16), 0, 0, 0), "error log again");
            assertEquals(2, page.segment().get(JAVA_LONG, 0), "the failed Get Log Page is the newest error");
            assertEquals(0, page.segment().get(JAVA_SHORT, 8), "sqid 0 (admin)");
            assertStatus(0x02, host.admin.run(0x02, 1, a, 0, 0x02 | (127 << 16), 0, 0, 0), "per-namespace SMART");
            // asynchronous event requests stay outstanding (no events); AERL + 1 = 4 of them
            for (int i = 0; i < 4; i++) {
                host.admin.submit(0x0c, 0, 0, 0, 0, 0, 0, 0);
                assertEquals(null, host.admin.poll());
            }
            assertStatus(0x105, host.admin.run(0x0c, 0, 0, 0, 0, 0, 0, 0), "AER limit exceeded");
            assertStatus(0x10a, host.admin.run(0x80, 1, 0, 0, 2, 0, 0, 0), "LBA format 2 does not exist");
            assertStatus(0x10a, host.admin.run(0x80, 1, 0, 0, 1 | (1 << 5), 0, 0, 0), "protection information");
            assertStatus(0, host.admin.run(0x80, 1, 0, 0, 1, 0, 0, 0), "format to 4 KiB blocks");
            assertEquals(4096, host.model.blockSize());
            assertEquals((4L << 20) / 4096, host.model.numBlocks());
            assertStatus(0, host.admin.run(0x06, 1, a, 0, 0x00, 0, 0, 0), "identify namespace");
            assertEquals(1, page.segment().get(JAVA_BYTE, 26), "FLBAS");
            assertEquals(12, page.segment().get(JAVA_BYTE, 128 + 4 + 2), "LBAF1: 4 KiB");
            q.free();
        } finally {
            page.free();
        }
    }

    @Test
    void surpriseRemovalReadsAllOnes() {
        host.model.remove();
        assertEquals(-1, host.read32(RawHost.CSTS));
        assertEquals(-1L, host.read64(RawHost.CAP));
        assertEquals(0xffff, host.model.device().readConfig(0, 2));
    }

    private static void assertStatus(int expected, RawHost.Cqe c, String what) {
        assertEquals(expected, c.status(), what + ": " + NvmeStatus.name(c.status()));
    }
}
