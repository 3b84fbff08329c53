package io.ustor.scsi;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Sense data layouts of SPC-4 4.5.3 (fixed) and 4.5.2 (descriptor). */
class SenseTest {
    private static int u8(MemorySegment s, int i) {
        return s.get(JAVA_BYTE, i) & 0xff;
    }

    @Test
    void fixedFormatWithFieldPointer() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Sense.MAX_LENGTH);
            int len = Sense.write(s, false, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_CDB, -1, 13, -1, true);
            assertEquals(18, len);
            assertEquals(0x70, u8(s, 0), "current error, no INFORMATION");
            assertEquals(Sense.ILLEGAL_REQUEST, u8(s, 2));
            assertEquals(10, u8(s, 7));
            assertEquals(0x24, u8(s, 12));
            assertEquals(0x00, u8(s, 13));
            assertEquals(0xc0, u8(s, 15), "SKSV and C/D (field in the CDB)");
            assertEquals(13, (u8(s, 16) << 8) | u8(s, 17));
        }
    }

    @Test
    void fixedFormatWithInformationAndBitPointer() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Sense.MAX_LENGTH);
            Sense.write(s, false, Sense.MISCOMPARE, Sense.MISCOMPARE_DURING_VERIFY, 0x1234, -1, -1, true);
            assertEquals(0xf0, u8(s, 0), "VALID: INFORMATION holds the miscompare offset");
            assertEquals(0x1234, (u8(s, 5) << 8) | u8(s, 6));
            assertEquals(0x1d, u8(s, 12));
            Sense.write(s, false, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_PARAMETER_LIST, -1, 20, 3, false);
            assertEquals(0x80 | 0x08 | 3, u8(s, 15), "SKSV, parameter list, BPV, bit 3");
        }
    }

    @Test
    void descriptorFormat() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Sense.MAX_LENGTH);
            int len = Sense.write(s, true, Sense.ILLEGAL_REQUEST, Sense.LBA_OUT_OF_RANGE, 7, 2, -1, true);
            assertEquals(0x72, u8(s, 0));
            assertEquals(Sense.ILLEGAL_REQUEST, u8(s, 1));
            assertEquals(0x21, u8(s, 2));
            assertEquals(len - 8, u8(s, 7));
            assertEquals(0x00, u8(s, 8), "information descriptor");
            assertEquals(0x80, u8(s, 10), "VALID");
            assertEquals(7, u8(s, 19));
            assertEquals(0x02, u8(s, 20), "sense key specific descriptor");
            assertEquals(0xc0, u8(s, 24));
            assertEquals(2, u8(s, 26));
        }
    }
}
