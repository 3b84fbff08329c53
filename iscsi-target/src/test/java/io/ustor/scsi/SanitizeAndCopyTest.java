package io.ustor.scsi;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SANITIZE, EXTENDED COPY and RECEIVE COPY RESULTS through LunChannels against real malloc bdevs on a reactor. */
class SanitizeAndCopyTest {
    private static final int BS = 512, BLOCKS = 16384;
    private ReactorGroup reactors;
    private BdevRegistry bdevs;
    private BdevDesc desc0, desc1;
    private ScsiLun lun0, lun1;
    private Reactor r;
    private final Arena arena = Arena.ofShared();
    private final ScsiNexus nexusA = new ScsiNexus("iqn.a", "iqn.a,i,0x1", "iqn.t,t,0x0001", 1);
    private final java.util.List<LunChannel> channels = new java.util.ArrayList<>();

    /** A task with its own buffer, completing into a latch. */
    final class Task extends LatchedTask {
        Task(int... cdbBytes) {
            super(arena, 4 << 20, cdbBytes);
        }
    }

    @BeforeEach
    void start() {
        reactors = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        r = reactors.reactor(0);
        bdevs = new BdevRegistry(reactors);
        bdevs.register(MallocBdev.create("M0", BLOCKS, BS, null));
        bdevs.register(MallocBdev.create("M1", BLOCKS, BS, null));
        desc0 = bdevs.open("M0", true, (t, d) -> { });
        desc1 = bdevs.open("M1", true, (t, d) -> { });
        lun0 = new ScsiLun(0, desc0, false);
        lun1 = new ScsiLun(1, desc1, false);
    }

    @AfterEach
    void stop() throws Exception {
        // A sanitize still running holds a channel of its own: wait for it before tearing down.
        for (int i = 0; i < 600 && (lun0.sanitizing() || lun1.sanitizing()); i++) {
            Thread.sleep(50);
        }
        r.call(() -> {
            channels.forEach(LunChannel::close);
            return null;
        }).get(10, TimeUnit.SECONDS);
        desc0.close();
        desc1.close();
        bdevs.unregisterAll().join();
        reactors.close();
        arena.close();
    }

    private LunChannel channel(ScsiLun lun) throws Exception {
        LunChannel.LunMap map = new LunChannel.LunMap() {
            @Override
            public int[] lunIds() {
                return new int[]{0, 1};
            }

            @Override
            public ScsiLun lun(int id) {
                return id == 0 ? lun0 : id == 1 ? lun1 : null;
            }
        };
        LunChannel lc = r.call(() -> new LunChannel(lun, nexusA, map, 8)).get(10, TimeUnit.SECONDS);
        channels.add(lc);
        return lc;
    }

    private Task run(LunChannel lc, Task t, int dataOut) throws Exception {
        t.expectedLength = dataOut > 0 ? dataOut : 1 << 16;
        t.dataOutLength = dataOut;
        t.dataOut = dataOut > 0;
        t.dataIn = dataOut == 0;
        r.call(() -> {
            lc.execute(t);
            return null;
        }).get(10, TimeUnit.SECONDS);
        assertTrue(t.done.await(60, TimeUnit.SECONDS), "command completed");
        return t;
    }

    private void write(LunChannel lc, long lba, int blocks, byte value) throws Exception {
        Task w = new Task(0x8a, 0, 0, 0, 0, 0, (int) (lba >>> 24), (int) (lba >>> 16) & 0xff, (int) (lba >>> 8) & 0xff,
                (int) lba & 0xff, 0, 0, blocks >>> 8, blocks & 0xff, 0, 0);
        w.buf.asSlice(0, (long) blocks * BS).fill(value);
        assertEquals(ScsiStatus.GOOD, run(lc, w, blocks * BS).status);
    }

    private Task read(LunChannel lc, long lba, int blocks) throws Exception {
        Task t = run(lc, new Task(0x88, 0, 0, 0, 0, 0, (int) (lba >>> 24), (int) (lba >>> 16) & 0xff,
                (int) (lba >>> 8) & 0xff, (int) lba & 0xff, 0, 0, blocks >>> 8, blocks & 0xff, 0, 0), 0);
        assertEquals(ScsiStatus.GOOD, t.status);
        return t;
    }

    private static Task sanitize(SanitizeAndCopyTest s, int byte1, int paramLen) {
        return s.new Task(0x48, byte1, 0, 0, 0, 0, 0, paramLen >>> 8, paramLen & 0xff, 0);
    }

    /** Polls TEST UNIT READY until the sanitize is over. */
    private void awaitSanitize(LunChannel lc) throws Exception {
        for (int i = 0; i < 1200; i++) {
            Task tur = run(lc, new Task(0, 0, 0, 0, 0, 0), 0);
            if (tur.status == ScsiStatus.GOOD) {
                return;
            }
            assertEquals(Sense.NOT_READY, tur.senseKey());
            assertEquals(Sense.SANITIZE_IN_PROGRESS, tur.ascq());
            Thread.sleep(50);
        }
        throw new AssertionError("sanitize did not end");
    }

    @Test
    void overwriteRunsInTheBackgroundReportingProgressThenLeavesThePattern() throws Exception {
        LunChannel lc = channel(lun0);
        LunChannel other = channel(lun0);
        write(lc, 0, 16, (byte) 'a');
        lun0.sanitizeBytesPerSecond(4L << 20); // 8 MiB at 4 MiB/s: long enough to see it running
        Task s = sanitize(this, 0x80 | SanitizeCommand.SA_OVERWRITE, 4 + 4); // IMMED
        s.buf.set(JAVA_BYTE, 0, (byte) 0x01);                                 // one pass
        s.buf.set(JAVA_BYTE, 3, (byte) 4);                                     // 4-byte pattern
        for (int i = 0; i < 4; i++) {
            s.buf.set(JAVA_BYTE, 4 + i, (byte) (0x10 + i));
        }
        assertEquals(ScsiStatus.GOOD, run(lc, s, 8).status);

        Task tur = run(other, new Task(0, 0, 0, 0, 0, 0), 0);
        assertEquals(ScsiStatus.CHECK_CONDITION, tur.status);
        assertEquals(Sense.NOT_READY, tur.senseKey());
        assertEquals(Sense.SANITIZE_IN_PROGRESS, tur.ascq());
        assertEquals(0x80, tur.sense.get(JAVA_BYTE, 15) & 0x80, "SKSV: progress indication");
        Task rs = run(other, new Task(0x03, 0, 0, 0, 32, 0), 0);
        assertEquals(ScsiStatus.GOOD, rs.status);
        assertEquals(Sense.NOT_READY, rs.u8(2) & 0x0f);
        assertEquals(0x04, rs.u8(12));
        assertEquals(0x1b, rs.u8(13));
        assertEquals(ScsiStatus.GOOD, run(other, new Task(0x12, 0, 0, 0, 96, 0), 0).status, "INQUIRY proceeds");

        awaitSanitize(lc);
        Task rd = read(lc, 0, 16);
        for (int i = 0; i < 16 * BS; i++) {
            assertEquals((byte) (0x10 + i % 4), rd.buf.get(JAVA_BYTE, i), "byte " + i);
        }
        Task end = read(lc, BLOCKS - 1, 1);
        assertEquals((byte) 0x13, end.buf.get(JAVA_BYTE, BS - 1));
    }

    @Test
    void anAbortedSanitizeCommandEndsWhileTheOperationGoesOn() throws Exception {
        LunChannel lc = channel(lun0);
        lun0.sanitizeBytesPerSecond(4L << 20);
        Task ow = sanitize(this, SanitizeCommand.SA_OVERWRITE, 5); // no IMMED: the command waits for the end
        ow.buf.set(JAVA_BYTE, 0, (byte) 1);
        ow.buf.set(JAVA_BYTE, 3, (byte) 1);
        ow.buf.set(JAVA_BYTE, 4, (byte) 0x77);
        ow.expectedLength = 5;
        ow.dataOutLength = 5;
        ow.dataOut = true;
        r.call(() -> {
            lc.execute(ow);
            return null;
        }).get(10, TimeUnit.SECONDS);
        assertTrue(lun0.sanitizing());
        ow.aborted = true; // what ABORT TASK / LOGICAL UNIT RESET do to the task
        assertTrue(ow.done.await(10, TimeUnit.SECONDS), "the aborted command terminated");
        assertTrue(lun0.sanitizing(), "the sanitize operation survives the abort");
        Task again = run(lc, sanitize(this, SanitizeCommand.SA_BLOCK_ERASE, 0), 0);
        assertEquals(Sense.NOT_READY, again.senseKey(), "a second SANITIZE waits for the first");
        assertEquals(Sense.SANITIZE_IN_PROGRESS, again.ascq());
        awaitSanitize(lc);
        assertEquals((byte) 0x77, read(lc, BLOCKS - 1, 1).buf.get(JAVA_BYTE, 3));
    }

    @Test
    void closingTheLuStopsARunningSanitizeInFailureMode() throws Exception {
        LunChannel lc = channel(lun0);
        lun0.sanitizeBytesPerSecond(1L << 20); // 8 s for the LUN: still running when the LU closes
        assertEquals(ScsiStatus.GOOD, run(lc, sanitize(this, 0x80 | SanitizeCommand.SA_CRYPTO_ERASE, 0), 0).status);
        assertTrue(lun0.sanitizing());
        desc0.close(); // what deleting the target does
        for (int i = 0; i < 200 && lun0.sanitizing(); i++) {
            Thread.sleep(10);
        }
        assertTrue(!lun0.sanitizing() && lun0.sanitize.failed(), "stopped, in sanitize failure mode");
    }

    @Test
    void thirdPartyCopyVpdPageDescribesTheCopyManager() throws Exception {
        LunChannel lc = channel(lun0);
        Task std = run(lc, new Task(0x12, 0, 0, 0, 96, 0), 0);
        assertEquals(0x08, std.u8(5) & 0x08, "3PC");
        Task vpd = run(lc, new Task(0x12, 1, 0x8f, 0, 255, 0), 0);
        assertEquals(ScsiStatus.GOOD, vpd.status);
        assertEquals(0x8f, vpd.u8(1));
        int len = (vpd.u8(2) << 8) | vpd.u8(3);
        java.util.List<Integer> types = new java.util.ArrayList<>();
        for (int off = 4; off < 4 + len; ) {
            types.add((vpd.u8(off) << 8) | vpd.u8(off + 1));
            int dlen = (vpd.u8(off + 2) << 8) | vpd.u8(off + 3);
            assertEquals(0, (4 + dlen) % 4, "descriptor padded to 4 bytes");
            off += 4 + dlen;
            assertTrue(off <= 4 + len);
        }
        assertEquals(java.util.List.of(0x0001, 0x0004, 0x0008, 0x8001), types);
        assertEquals(0x83, vpd.u8(9), "EXTENDED COPY in Supported Commands");
    }

    @Test
    void overwriteWithInvertEndsWithThePlainPattern() throws Exception {
        LunChannel lc = channel(lun0);
        Task s = sanitize(this, SanitizeCommand.SA_OVERWRITE, 4 + 1);
        s.buf.set(JAVA_BYTE, 0, (byte) (0x80 | 2)); // INVERT, two passes
        s.buf.set(JAVA_BYTE, 3, (byte) 1);
        s.buf.set(JAVA_BYTE, 4, (byte) 0x5a);
        assertEquals(ScsiStatus.GOOD, run(lc, s, 5).status);
        assertEquals((byte) 0x5a, read(lc, 100, 1).buf.get(JAVA_BYTE, 7));
    }

    @Test
    void blockEraseUnmapsEverythingUntilTheNextWrite() throws Exception {
        LunChannel lc = channel(lun0);
        write(lc, 0, 8, (byte) 'a');
        assertEquals(ScsiStatus.GOOD, run(lc, sanitize(this, SanitizeCommand.SA_BLOCK_ERASE, 0), 0).status);
        Task rd = read(lc, 0, 8);
        for (int i = 0; i < 8 * BS; i++) {
            assertEquals(0, rd.buf.get(JAVA_BYTE, i));
        }
        Task lbas = run(lc, new Task(0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0), 0);
        assertEquals(ScsiStatus.GOOD, lbas.status);
        assertEquals(BLOCKS, lbas.u32(16), "one descriptor for the whole LUN");
        assertEquals(1, lbas.u8(20), "deallocated");
        write(lc, 5, 1, (byte) 'b');
        lbas = run(lc, new Task(0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0), 0);
        assertEquals(0, lbas.u8(20), "mapped or unknown after a write");
    }

    @Test
    void cryptographicEraseMakesTheOldDataUnreadable() throws Exception {
        LunChannel lc = channel(lun0);
        write(lc, 0, 8, (byte) 'a');
        assertEquals(ScsiStatus.GOOD, run(lc, sanitize(this, SanitizeCommand.SA_CRYPTO_ERASE, 0), 0).status);
        Task rd = read(lc, 0, 8);
        int same = 0;
        for (int i = 0; i < 8 * BS; i++) {
            same += rd.buf.get(JAVA_BYTE, i) == 'a' ? 1 : 0;
        }
        assertTrue(same < 8 * BS / 16, "old data still there: " + same + " bytes");
    }

    @Test
    void badSanitizeCommandsAreRefused() throws Exception {
        LunChannel lc = channel(lun0);
        Task badSa = run(lc, sanitize(this, 0x04, 0), 0);
        assertEquals(Sense.ILLEGAL_REQUEST, badSa.senseKey());
        assertEquals(Sense.INVALID_FIELD_IN_CDB, badSa.ascq());
        Task reserved = sanitize(this, SanitizeCommand.SA_BLOCK_ERASE, 0);
        reserved.cdb.set(JAVA_BYTE, 4, (byte) 1);
        assertEquals(Sense.INVALID_FIELD_IN_CDB, run(lc, reserved, 0).ascq());
        assertEquals(Sense.INVALID_FIELD_IN_CDB, run(lc, sanitize(this, SanitizeCommand.SA_BLOCK_ERASE, 8), 8).ascq());
        assertEquals(Sense.INVALID_FIELD_IN_CDB, run(lc, sanitize(this, SanitizeCommand.SA_OVERWRITE, 4), 4).ascq());
        Task noCount = sanitize(this, SanitizeCommand.SA_OVERWRITE, 5);
        noCount.buf.set(JAVA_BYTE, 3, (byte) 1);
        assertEquals(Sense.INVALID_FIELD_IN_PARAMETER_LIST, run(lc, noCount, 5).ascq());
        assertEquals(ScsiStatus.GOOD, run(lc, sanitize(this, SanitizeCommand.SA_EXIT_FAILURE_MODE, 0), 0).status,
                "nothing to exit");
        lun0.softwareWriteProtect = true;
        Task wp = run(lc, sanitize(this, SanitizeCommand.SA_BLOCK_ERASE, 0), 0);
        assertEquals(Sense.DATA_PROTECT, wp.senseKey());
        assertEquals(Sense.WRITE_PROTECTED, wp.ascq());
    }

    /** An EXTENDED COPY parameter list: header, one E4h descriptor per LU, one 02h segment. */
    private int copyList(Task t, int listId, int usage, ScsiLun[] luns, int src, int dst, int blocks, long srcLba,
                         long dstLba) {
        MemorySegment p = t.buf;
        p.asSlice(0, 16 + 32 * luns.length + 28).fill((byte) 0);
        p.set(JAVA_BYTE, 0, (byte) listId);
        p.set(JAVA_BYTE, 1, (byte) (usage << 3));
        p.set(JAVA_BYTE, 3, (byte) (32 * luns.length));
        p.set(JAVA_BYTE, 11, (byte) 28);
        for (int i = 0; i < luns.length; i++) {
            int off = 16 + 32 * i;
            p.set(JAVA_BYTE, off, (byte) 0xe4);
            p.set(JAVA_BYTE, off + 4, (byte) 0x01);
            p.set(JAVA_BYTE, off + 5, (byte) 0x03);
            p.set(JAVA_BYTE, off + 7, (byte) 16);
            MemorySegment.copy(luns[i].naa(), 0, p, JAVA_BYTE, off + 8, 16);
            p.set(JAVA_BYTE, off + 30, (byte) (BS >>> 8));
        }
        int s = 16 + 32 * luns.length;
        p.set(JAVA_BYTE, s, (byte) 0x02);
        p.set(JAVA_BYTE, s + 3, (byte) 24);
        p.set(JAVA_BYTE, s + 5, (byte) src);
        p.set(JAVA_BYTE, s + 7, (byte) dst);
        p.set(JAVA_BYTE, s + 10, (byte) (blocks >>> 8));
        p.set(JAVA_BYTE, s + 11, (byte) blocks);
        for (int i = 0; i < 8; i++) {
            p.set(JAVA_BYTE, s + 12 + i, (byte) (srcLba >>> (56 - 8 * i)));
            p.set(JAVA_BYTE, s + 20 + i, (byte) (dstLba >>> (56 - 8 * i)));
        }
        return s + 28;
    }

    private Task extendedCopy(LunChannel lc, int len, Task t) throws Exception {
        t.cdb.set(JAVA_BYTE, 0, (byte) 0x83);
        t.cdb.set(JAVA_BYTE, 12, (byte) (len >>> 8));
        t.cdb.set(JAVA_BYTE, 13, (byte) len);
        t.cdbLength = 16;
        return run(lc, t, len);
    }

    private Task receiveCopyResults(LunChannel lc, int sa, int listId) throws Exception {
        return run(lc, new Task(0x84, sa, listId, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0), 0);
    }

    @Test
    void extendedCopyCopiesBetweenLusOfTheTargetAndHoldsItsStatus() throws Exception {
        LunChannel lc = channel(lun0);
        LunChannel lc1 = channel(lun1);
        Task w = new Task(0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0, 0); // 3072 blocks at LBA 0
        for (int i = 0; i < 3072 * BS; i++) {
            w.buf.set(JAVA_BYTE, i, (byte) (i / BS + i));
        }
        assertEquals(ScsiStatus.GOOD, run(lc, w, 3072 * BS).status);

        Task x = new Task();
        int len = copyList(x, 7, 0, new ScsiLun[]{lun0, lun1}, 0, 1, 3072, 0, 1000);
        assertEquals(ScsiStatus.GOOD, extendedCopy(lc, len, x).status);
        for (int chunk = 0; chunk < 3; chunk++) {
            Task rd = read(lc1, 1000 + chunk * 1024L, 1024);
            for (int i = 0; i < 1024 * BS; i++) {
                int src = chunk * 1024 * BS + i;
                assertEquals((byte) (src / BS + src), rd.buf.get(JAVA_BYTE, i), "byte " + src);
            }
        }

        Task status = receiveCopyResults(lc, CopyResults.SA_COPY_STATUS, 7);
        assertEquals(ScsiStatus.GOOD, status.status);
        assertEquals(0x01, status.u8(4), "completed without errors");
        assertEquals(1, (status.u8(5) << 8) | status.u8(6), "segments processed");
        assertEquals(3072L * BS, status.u32(8), "bytes");
        assertEquals(Sense.INVALID_FIELD_IN_CDB, receiveCopyResults(lc, CopyResults.SA_COPY_STATUS, 8).ascq());

        Task params = receiveCopyResults(lc, CopyResults.SA_OPERATING_PARAMETERS, 0);
        assertEquals(ExtendedCopy.MAX_TARGET_DESCRIPTORS, (params.u8(8) << 8) | params.u8(9));
        assertEquals(ExtendedCopy.MAX_SEGMENT_DESCRIPTORS, (params.u8(10) << 8) | params.u8(11));
        assertEquals(2, params.u8(43));
    }

    /** Source and destination overlap on one LU, in both directions, over more than one chunk. */
    @Test
    void extendedCopyWithinOneLuCopiesOverlappingRangesIntact() throws Exception {
        LunChannel lc = channel(lun0);
        int blocks = 4096; // two 1 MiB chunks
        for (long[] move : new long[][]{{0, 1000}, {3000, 2000}}) {
            Task w = new Task(0x8a, 0, 0, 0, 0, 0, (int) (move[0] >>> 24), (int) (move[0] >>> 16) & 0xff,
                    (int) (move[0] >>> 8) & 0xff, (int) move[0] & 0xff, 0, 0, blocks >>> 8, blocks & 0xff, 0, 0);
            for (int i = 0; i < blocks * BS; i += 4) {
                w.buf.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i, (int) move[0] * 7919 + i);
            }
            MemorySegment original = arena.allocate((long) blocks * BS);
            original.copyFrom(w.buf.asSlice(0, (long) blocks * BS));
            assertEquals(ScsiStatus.GOOD, run(lc, w, blocks * BS).status);
            Task x = new Task();
            int len = copyList(x, 9, 0, new ScsiLun[]{lun0}, 0, 0, blocks, move[0], move[1]);
            assertEquals(ScsiStatus.GOOD, extendedCopy(lc, len, x).status, "copy " + move[0] + " -> " + move[1]);
            for (int half = 0; half < 2; half++) {
                Task rd = read(lc, move[1] + half * (blocks / 2L), blocks / 2);
                assertEquals(-1, rd.buf.asSlice(0, (long) blocks / 2 * BS).mismatch(
                        original.asSlice((long) half * blocks / 2 * BS, (long) blocks / 2 * BS)),
                        "copy " + move[0] + " -> " + move[1] + ", half " + half);
            }
        }
    }

    @Test
    void extendedCopyErrorsCarryTheirSense() throws Exception {
        LunChannel lc = channel(lun0);
        Task badIndex = new Task();
        int len = copyList(badIndex, 3, 0, new ScsiLun[]{lun0}, 0, 1, 8, 0, 0);
        Task done = extendedCopy(lc, len, badIndex);
        assertEquals(Sense.COPY_ABORTED, done.senseKey());
        assertEquals(Sense.COPY_TARGET_DEVICE_NOT_REACHABLE, done.ascq());
        Task details = receiveCopyResults(lc, CopyResults.SA_FAILED_SEGMENT_DETAILS, 3);
        assertEquals(ScsiStatus.CHECK_CONDITION, details.u8(56));
        assertEquals(Sense.COPY_ABORTED, details.u8(60 + 2) & 0x0f);
        assertEquals(0x02, receiveCopyResults(lc, CopyResults.SA_COPY_STATUS, 3).u8(4), "completed with errors");

        Task beyond = new Task();
        len = copyList(beyond, 4, 0, new ScsiLun[]{lun0}, 0, 0, 16, 0, BLOCKS - 8);
        assertEquals(Sense.COPY_ABORTED, extendedCopy(lc, len, beyond).senseKey());

        Task truncated = new Task();
        len = copyList(truncated, 5, 0, new ScsiLun[]{lun0}, 0, 0, 16, 0, 0);
        assertEquals(Sense.PARAMETER_LIST_LENGTH_ERROR, extendedCopy(lc, len - 1, truncated).ascq());

        Task wrongType = new Task();
        len = copyList(wrongType, 6, 0, new ScsiLun[]{lun0}, 0, 0, 16, 0, 0);
        wrongType.buf.set(JAVA_BYTE, 16, (byte) 0xe0);
        assertEquals(Sense.UNSUPPORTED_TARGET_DESCRIPTOR_TYPE, extendedCopy(lc, len, wrongType).ascq());

        Task unknownLu = new Task();
        len = copyList(unknownLu, 9, 0, new ScsiLun[]{lun0}, 0, 0, 16, 0, 0);
        unknownLu.buf.set(JAVA_BYTE, 16 + 8 + 15, (byte) ~unknownLu.buf.get(JAVA_BYTE, 16 + 8 + 15));
        Task result = extendedCopy(lc, len, unknownLu);
        assertEquals(Sense.COPY_ABORTED, result.senseKey());
        assertNotEquals(ScsiStatus.GOOD, result.status);
    }
}
