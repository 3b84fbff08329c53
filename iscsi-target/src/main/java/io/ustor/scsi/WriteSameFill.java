package io.ustor.scsi;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/** WRITE SAME helpers: replicate the one block of data-out over a chunk of the buffer, detect a zero block. */
final class WriteSameFill {
    private WriteSameFill() {
    }

    /** Blocks written per bdev write: the buffer holds at most a maximum transfer. */
    static long chunkBlocks(ScsiTask t, int blockSize) {
        return Math.min(t.blocks, ScsiLun.OPTIMAL_TRANSFER_BYTES / blockSize);
    }

    /** Repeats block 0 of the buffer over the first chunk; false if the buffer cannot grow. */
    static boolean fill(ScsiTask t, int blockSize, long blocks) {
        long chunk = Math.min(blocks, ScsiLun.OPTIMAL_TRANSFER_BYTES / blockSize);
        MemorySegment buf = t.ensureBuffer(chunk * blockSize);
        if (buf == null) {
            return false;
        }
        for (long i = 1; i < chunk; i++) {
            MemorySegment.copy(buf, 0, buf, i * blockSize, blockSize);
        }
        return true;
    }

    static boolean isZero(MemorySegment buf, int blockSize) {
        for (long i = 0; i + 8 <= blockSize; i += 8) {
            if (buf.get(JAVA_LONG_UNALIGNED, i) != 0) {
                return false;
            }
        }
        return true;
    }
}
