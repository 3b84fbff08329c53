package io.ustor.iscsi.pdu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Field access to a 48-byte basic header segment (RFC 7143 section 11) held in a MemorySegment at some offset.
 * Multi-byte fields are big-endian. Static helpers, allocation-free: the reactor reads and builds headers in place.
 */
public final class Bhs {
    public static final int SIZE = 48;
    /** Byte 0: the immediate-delivery bit and the opcode. */
    public static final int IMMEDIATE = 0x40, OPCODE_MASK = 0x3f;
    /** Byte 1: the final bit. */
    public static final int FINAL = 0x80;
    /** The reserved tag value (no task / no transfer tag). */
    public static final int RESERVED_TAG = 0xffffffff;

    // Common field offsets.
    public static final int TOTAL_AHS_LENGTH = 4, DATA_SEGMENT_LENGTH = 5, LUN = 8, ITT = 16;
    public static final int TTT = 20, CMD_SN = 24, STAT_SN = 24, EXP_STAT_SN = 28, EXP_CMD_SN = 28,
            MAX_CMD_SN = 32, DATA_SN = 36, R2T_SN = 36, BUFFER_OFFSET = 40, RESIDUAL_COUNT = 44;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Bhs() {
    }

    public static int opcode(MemorySegment s, long base) {
        return s.get(JAVA_BYTE, base) & OPCODE_MASK;
    }

    public static boolean immediate(MemorySegment s, long base) {
        return (s.get(JAVA_BYTE, base) & IMMEDIATE) != 0;
    }

    public static int flags(MemorySegment s, long base) {
        return s.get(JAVA_BYTE, base + 1) & 0xff;
    }

    public static boolean isFinal(MemorySegment s, long base) {
        return (flags(s, base) & FINAL) != 0;
    }

    /** Total AHS length in bytes (the field counts 4-byte words). */
    public static int ahsBytes(MemorySegment s, long base) {
        return (s.get(JAVA_BYTE, base + TOTAL_AHS_LENGTH) & 0xff) * 4;
    }

    public static int dataSegmentLength(MemorySegment s, long base) {
        return ((s.get(JAVA_BYTE, base + 5) & 0xff) << 16) | ((s.get(JAVA_BYTE, base + 6) & 0xff) << 8)
                | (s.get(JAVA_BYTE, base + 7) & 0xff);
    }

    public static void setDataSegmentLength(MemorySegment s, long base, int length) {
        s.set(JAVA_BYTE, base + 5, (byte) (length >>> 16));
        s.set(JAVA_BYTE, base + 6, (byte) (length >>> 8));
        s.set(JAVA_BYTE, base + 7, (byte) length);
    }

    public static int u8(MemorySegment s, long base, int offset) {
        return s.get(JAVA_BYTE, base + offset) & 0xff;
    }

    public static void setU8(MemorySegment s, long base, int offset, int v) {
        s.set(JAVA_BYTE, base + offset, (byte) v);
    }

    public static int u16(MemorySegment s, long base, int offset) {
        return s.get(SHORT, base + offset) & 0xffff;
    }

    public static void setU16(MemorySegment s, long base, int offset, int v) {
        s.set(SHORT, base + offset, (short) v);
    }

    public static int i32(MemorySegment s, long base, int offset) {
        return s.get(INT, base + offset);
    }

    public static void setI32(MemorySegment s, long base, int offset, int v) {
        s.set(INT, base + offset, v);
    }

    public static long i64(MemorySegment s, long base, int offset) {
        return s.get(LONG, base + offset);
    }

    public static void setI64(MemorySegment s, long base, int offset, long v) {
        s.set(LONG, base + offset, v);
    }

    /** Zeroes the 48 bytes and sets the opcode and the flags byte. */
    public static void init(MemorySegment s, long base, int opcode, int flags) {
        for (int i = 0; i < SIZE; i += 8) {
            s.set(LONG, base + i, 0L); // no slice: this runs for every PDU sent
        }
        s.set(JAVA_BYTE, base, (byte) opcode);
        s.set(JAVA_BYTE, base + 1, (byte) flags);
    }

    /** Serial number arithmetic (RFC 1982, 32 bits): a < b. */
    public static boolean snLess(int a, int b) {
        return a != b && (a - b) < 0;
    }

    /** Serial number arithmetic: a <= b. */
    public static boolean snLessOrEqual(int a, int b) {
        return (a - b) <= 0;
    }

    /** Data segment bytes padded to a multiple of 4. */
    public static int padded(int length) {
        return (length + 3) & ~3;
    }
}
