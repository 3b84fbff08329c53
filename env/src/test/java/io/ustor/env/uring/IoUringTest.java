package io.ustor.env.uring;

import io.ustor.env.Errno;
import io.ustor.env.NativeException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link IoUring} against real files: the shared contract plus registration, SQE flags and setup modes. */
class IoUringTest extends FileIoQueueContract {
    @Override
    protected FileIoQueue open(int depth, int maxIovs) {
        return IoUring.open(depth, maxIovs);
    }

    private IoUring ring() {
        return (IoUring) queue;
    }

    @Test
    void takesTheBestTaskRunModeAndMapsOneRegion() {
        IoUring r = ring();
        assertEquals("io_uring", r.engine());
        assertTrue((r.setupFlags() & IoUring.SETUP_TASKRUN_FLAG) != 0, IoUring.describeSetupFlags(r.setupFlags()));
        assertTrue((r.features() & IoUring.FEAT_SINGLE_MMAP) != 0);
        assertTrue((r.features() & IoUring.FEAT_SUBMIT_STABLE) != 0);
        assertEquals(64, r.sqEntries());
        assertEquals(128, r.cqEntries());
        assertEquals(64, r.depth());
        assertEquals(0, r.sqDropped());
        assertEquals(0, r.cqOverflow());
    }

    @Test
    void everySetupModeCompletesByPollingAlone() {
        int[] modes = {IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN | IoUring.SETUP_TASKRUN_FLAG,
                IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG, IoUring.SETUP_COOP_TASKRUN, 0};
        MemorySegment out = aligned(BLOCK);
        fill(out, 9);
        for (int mode : modes) {
            try (IoUring r = IoUring.open(8, mode, 1)) {
                Recorder rec = new Recorder();
                MemorySegment in = aligned(BLOCK);
                r.prepWrite(fd, out.address(), BLOCK, 0, 1);
                r.prepFsync(fd, true, 2);
                r.prepRead(fd, in.address(), BLOCK, BLOCK * 100, 3);
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (rec.seen.size() < 3) {
                    assertTrue(r.reap(rec, 16) >= 0);
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError(IoUring.describeSetupFlags(mode) + ": " + rec.seen.size() + " of 3 by polling");
                    }
                }
                assertEquals(BLOCK, rec.result(1));
                assertEquals(0, rec.result(2));
                assertEquals(BLOCK, rec.result(3));
            }
        }
    }

    @Test
    void unknownSetupFlagsFailNamingTheCall() {
        NativeException e = assertThrows(NativeException.class, () -> IoUring.open(8, 1 << 30, 1));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("io_uring_setup(8 entries"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> IoUring.open(0, 1));
    }

    @Test
    void fixedBuffersAndFixedFiles() {
        IoUring r = ring();
        MemorySegment region = aligned(4 * BLOCK);
        r.registerBuffers(new MemorySegment[]{region.asSlice(0, 2 * BLOCK), region.asSlice(2 * BLOCK, 2 * BLOCK)});
        r.registerFiles(new int[]{fd});
        try {
            MemorySegment out = region.asSlice(0, 2 * BLOCK);
            fill(out, 5);
            int slot = r.prepWriteFixed(0, out.address(), 2 * BLOCK, 40 * BLOCK, 0, 1);
            r.setSqeFlags(slot, IoUring.SQE_FIXED_FILE); // fd 0 is index 0 of the registered files
            MemorySegment in = region.asSlice(2 * BLOCK, 2 * BLOCK);
            drainAll();
            assertEquals(2 * BLOCK, recorder.result(1));
            assertTrue(r.prepReadFixed(fd, in.address(), 2 * BLOCK, 40 * BLOCK, 1, 2) >= 0);
            drainAll();
            assertEquals(2 * BLOCK, recorder.result(2));
            assertArrayEquals(out.toArray(JAVA_BYTE), in.toArray(JAVA_BYTE));
            // A buffer outside the registered one it names is refused by the kernel.
            MemorySegment other = aligned(BLOCK);
            r.prepReadFixed(fd, other.address(), BLOCK, 0, 0, 3);
            drainAll();
            assertEquals(-Errno.EFAULT, recorder.result(3));
        } finally {
            r.unregisterFiles();
            r.unregisterBuffers();
        }
    }

    @Test
    void linkedOperationsRunInOrder() {
        IoUring r = ring();
        MemorySegment out = aligned(BLOCK);
        fill(out, 6);
        MemorySegment in = aligned(BLOCK);
        int w = r.prepWrite(fd, out.address(), BLOCK, 77 * BLOCK, 1);
        r.setSqeFlags(w, IoUring.SQE_IO_LINK);
        int s = r.prepFsync(fd, true, 2);
        r.setSqeFlags(s, IoUring.SQE_IO_LINK);
        r.prepRead(fd, in.address(), BLOCK, 77 * BLOCK, 3);
        drainAll();
        assertEquals(3, recorder.seen.size());
        assertEquals(1, recorder.seen.get(0)[0]);
        assertEquals(2, recorder.seen.get(1)[0]);
        assertEquals(3, recorder.seen.get(2)[0]);
        assertArrayEquals(out.toArray(JAVA_BYTE), in.toArray(JAVA_BYTE));
    }

    @Test
    void ringsAreIndependent() {
        try (IoUring other = IoUring.open(4, 1)) {
            assertNotEquals(other.fd(), ring().fd());
            other.prepNop(5);
            Recorder rec = new Recorder();
            assertEquals(1, other.reapWait(rec, 1));
            assertEquals(0, queue.outstanding());
        }
    }
}
