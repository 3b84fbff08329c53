package io.ustor.scsi;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Big-endian stores into a MemorySegment for SCSI parameter data (allocation-free). */
final class Bytes {
    private Bytes() {
    }

    static void u8(MemorySegment s, long off, int v) {
        s.set(JAVA_BYTE, off, (byte) v);
    }

    static void u16(MemorySegment s, long off, int v) {
        s.set(JAVA_BYTE, off, (byte) (v >>> 8));
        s.set(JAVA_BYTE, off + 1, (byte) v);
    }

    static void u32(MemorySegment s, long off, long v) {
        s.set(JAVA_BYTE, off, (byte) (v >>> 24));
        s.set(JAVA_BYTE, off + 1, (byte) (v >>> 16));
        s.set(JAVA_BYTE, off + 2, (byte) (v >>> 8));
        s.set(JAVA_BYTE, off + 3, (byte) v);
    }

    static void u64(MemorySegment s, long off, long v) {
        u32(s, off, v >>> 32);
        u32(s, off + 4, v);
    }

    static int get8(MemorySegment s, long off) {
        return s.get(JAVA_BYTE, off) & 0xff;
    }

    static int get16(MemorySegment s, long off) {
        return (get8(s, off) << 8) | get8(s, off + 1);
    }

    static long get32(MemorySegment s, long off) {
        return ((long) get8(s, off) << 24) | (get8(s, off + 1) << 16) | (get8(s, off + 2) << 8) | get8(s, off + 3);
    }

    static long get64(MemorySegment s, long off) {
        return (get32(s, off) << 32) | get32(s, off + 4);
    }

    /** ASCII, space-padded or truncated to {@code width}. */
    static void ascii(MemorySegment s, long off, String text, int width) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            s.set(JAVA_BYTE, off + i, i < b.length ? b[i] : (byte) ' ');
        }
    }

    /** Raw bytes. */
    static void bytes(MemorySegment s, long off, byte[] b) {
        MemorySegment.copy(b, 0, s, JAVA_BYTE, off, b.length);
    }

    static void zero(MemorySegment s, long off, long len) {
        s.asSlice(off, len).fill((byte) 0);
    }
}
