package io.ustor.iscsi.pdu;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BhsTest {
    @Test
    void fieldsAreBigEndianAtTheirRfcOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64);
            long base = 8;
            Bhs.init(s, base, Opcode.SCSI_COMMAND | Bhs.IMMEDIATE, 0x80 | 0x40);
            Bhs.setDataSegmentLength(s, base, 0x123456);
            Bhs.setI32(s, base, Bhs.ITT, 0x01020304);
            Bhs.setI64(s, base, Bhs.LUN, 0x0001000000000000L);
            Bhs.setU8(s, base, Bhs.TOTAL_AHS_LENGTH, 3);
            assertEquals(Opcode.SCSI_COMMAND, Bhs.opcode(s, base));
            assertTrue(Bhs.immediate(s, base));
            assertTrue(Bhs.isFinal(s, base));
            assertEquals(0x123456, Bhs.dataSegmentLength(s, base));
            assertEquals(0x12, s.get(JAVA_BYTE, base + 5));
            assertEquals(0x56, s.get(JAVA_BYTE, base + 7));
            assertEquals(0x01, s.get(JAVA_BYTE, base + 16));
            assertEquals(0x04, s.get(JAVA_BYTE, base + 19));
            assertEquals(0x01, s.get(JAVA_BYTE, base + 9));
            assertEquals(12, Bhs.ahsBytes(s, base));
            assertEquals(0, s.get(JAVA_BYTE, 0), "bytes before the header untouched");
        }
    }

    @Test
    void serialNumberArithmeticWraps() {
        assertTrue(Bhs.snLess(0xfffffff0, 5));
        assertFalse(Bhs.snLess(5, 0xfffffff0));
        assertTrue(Bhs.snLessOrEqual(7, 7));
        assertFalse(Bhs.snLess(7, 7));
        assertEquals(8, Bhs.padded(5));
        assertEquals(8, Bhs.padded(8));
        assertEquals(0, Bhs.padded(0));
    }
}
