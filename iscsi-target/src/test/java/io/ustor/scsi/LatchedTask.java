package io.ustor.scsi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** A SCSI task for LU-level tests: a CDB, its own data buffer, and a latch its completion opens. */
class LatchedTask extends ScsiTask {
    final MemorySegment buf;
    final CountDownLatch done = new CountDownLatch(1);

    LatchedTask(Arena arena, long bufferBytes, int... cdbBytes) {
        super(arena);
        buf = arena.allocate(bufferBytes, 4096);
        for (int i = 0; i < cdbBytes.length; i++) {
            cdb.set(JAVA_BYTE, i, (byte) cdbBytes[i]);
        }
        cdbLength = cdbBytes.length;
        resetOutcome();
    }

    @Override
    public MemorySegment buffer() {
        return buf;
    }

    @Override
    public MemorySegment ensureBuffer(long bytes) {
        return bytes <= buf.byteSize() ? buf : null;
    }

    @Override
    public void scsiComplete() {
        done.countDown();
    }

    /** Sense key of fixed-format sense data. */
    int senseKey() {
        return sense.get(JAVA_BYTE, 2) & 0x0f;
    }

    /** ASC and ASCQ of fixed-format sense data, as one number (ASC << 8 | ASCQ). */
    int ascq() {
        return ((sense.get(JAVA_BYTE, 12) & 0xff) << 8) | (sense.get(JAVA_BYTE, 13) & 0xff);
    }

    int u8(int off) {
        return buf.get(JAVA_BYTE, off) & 0xff;
    }

    long u32(int off) {
        return ((long) u8(off) << 24) | (u8(off + 1) << 16) | (u8(off + 2) << 8) | u8(off + 3);
    }
}
