package io.ustor.perf.job;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The data verify writes: every 8-byte word depends on the block's LBA, the write's sequence number and the word's
 * place in the block, so a read that returns another block, a stale write or a shifted buffer all miscompare.
 */
public final class VerifyPattern {
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private VerifyPattern() {
    }

    /** Fills {@code numBlocks} blocks of {@code buf} for a write at {@code lba} with write number {@code seq}. */
    public static void fill(MemorySegment buf, int blockSize, int numBlocks, long lba, long seq) {
        long off = 0;
        for (int b = 0; b < numBlocks; b++) {
            long blockSeed = ((lba + b) * GOLDEN) ^ (seq << 24);
            for (int w = 0; w < blockSize; w += 8) {
                buf.set(WORD, off + w, blockSeed ^ w);
            }
            off += blockSize;
        }
    }

    /** Byte offset of the first difference between the first {@code length} bytes, or -1 when they are equal. */
    public static long firstMismatch(MemorySegment expected, MemorySegment actual, long length) {
        return MemorySegment.mismatch(expected, 0, length, actual, 0, length);
    }
}
