package io.ustor.perf;

import io.ustor.perf.job.VerifyPattern;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VerifyPatternTest {

    private static void assertFirstWord(long mismatch) {
        assertTrue(mismatch >= 0 && mismatch < 8, () -> "first difference at byte " + mismatch);
    }

    @Test
    void patternDependsOnLbaSequenceAndPosition() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(8192), b = arena.allocate(8192);
            VerifyPattern.fill(a, 4096, 2, 100, 1);
            VerifyPattern.fill(b, 4096, 2, 100, 1);
            assertEquals(-1, VerifyPattern.firstMismatch(a, b, 8192));

            VerifyPattern.fill(b, 4096, 2, 100, 2);          // same place, later write
            assertFirstWord(VerifyPattern.firstMismatch(a, b, 8192));

            VerifyPattern.fill(b, 4096, 2, 101, 1);          // the neighbouring block's data
            assertFirstWord(VerifyPattern.firstMismatch(a, b, 8192));

            // Block 1 of a write at 100 is block 0 of a write at 101 with the same sequence: same LBA, same data.
            MemorySegment c = arena.allocate(4096);
            VerifyPattern.fill(c, 4096, 1, 101, 1);
            assertEquals(-1, VerifyPattern.firstMismatch(a.asSlice(4096), c, 4096));

            // Words within a block differ, so a shifted buffer miscompares.
            assertNotEquals(a.get(ValueLayout.JAVA_LONG_UNALIGNED, 0), a.get(ValueLayout.JAVA_LONG_UNALIGNED, 8));

            b.copyFrom(a);
            b.set(ValueLayout.JAVA_BYTE, 5000, (byte) (b.get(ValueLayout.JAVA_BYTE, 5000) ^ 1));
            assertEquals(5000, VerifyPattern.firstMismatch(a, b, 8192));
        }
    }
}
