package io.ustor.iscsi.pdu;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The CRC32C examples of RFC 3720 appendix B.4 (kept by RFC 7143), as bytes on the wire. */
class Crc32cDigestTest {
    private static byte[] wire(byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64);
            MemorySegment.copy(data, 0, s, JAVA_BYTE, 0, data.length);
            ByteBuffer view = s.asByteBuffer();
            int crc = new Crc32cDigest().compute(view, 0, data.length);
            MemorySegment out = arena.allocate(4);
            Crc32cDigest.store(out, 0, crc);
            assertEquals(crc, Crc32cDigest.load(out, 0));
            return out.toArray(JAVA_BYTE);
        }
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void rfcExamples() {
        byte[] zeros = new byte[32];
        byte[] ones = new byte[32];
        java.util.Arrays.fill(ones, (byte) 0xff);
        byte[] up = new byte[32], down = new byte[32];
        for (int i = 0; i < 32; i++) {
            up[i] = (byte) i;
            down[i] = (byte) (31 - i);
        }
        assertArrayEquals(bytes(0xaa, 0x36, 0x91, 0x8a), wire(zeros));
        assertArrayEquals(bytes(0x43, 0xab, 0xa8, 0x62), wire(ones));
        assertArrayEquals(bytes(0x4e, 0x79, 0xdd, 0x46), wire(up));
        assertArrayEquals(bytes(0x5c, 0xdb, 0x3f, 0x11), wire(down));
    }

    @Test
    void piecewiseEqualsWholeAndPaddingCounts() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(16);
            for (int i = 0; i < 6; i++) {
                s.set(JAVA_BYTE, i, (byte) (i * 37));
            }
            ByteBuffer v = s.asByteBuffer();
            Crc32cDigest d = new Crc32cDigest();
            int whole = d.compute(v, 0, 8); // 6 bytes of data and 2 zero pad bytes
            d.reset();
            d.update(v, 0, 3);
            d.update(v, 3, 3);
            d.updateZeros(2);
            assertEquals(whole, d.value());
            assertEquals(0, v.position(), "the view's position is left alone");
        }
    }
}
