package io.ustor.iscsi.pdu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * iSCSI header and data digests: CRC32C (RFC 7143 section 13.1, RFC 3385) over bytes held in native memory, read
 * through a preallocated ByteBuffer view so no digest allocates. The digest travels least significant byte first
 * (RFC 7143 appendix B: 32 zero bytes digest to aa 36 91 8a on the wire). One instance per thread (connection).
 */
public final class Crc32cDigest {
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();

    /** CRC32C of {@code length} bytes at {@code offset} of {@code view} (a ByteBuffer over native memory). */
    public int compute(ByteBuffer view, int offset, int length) {
        crc.reset();
        int oldPos = view.position(), oldLimit = view.limit();
        view.limit(offset + length).position(offset);
        crc.update(view);
        view.limit(oldLimit).position(oldPos);
        return (int) crc.getValue();
    }

    /** Starts a digest spread over several pieces. */
    public void reset() {
        crc.reset();
    }

    /** Adds {@code length} bytes at {@code offset} of {@code view}. */
    public void update(ByteBuffer view, int offset, int length) {
        int oldPos = view.position(), oldLimit = view.limit();
        view.limit(offset + length).position(offset);
        crc.update(view);
        view.limit(oldLimit).position(oldPos);
    }

    /** Adds the zero padding bytes of a data segment. */
    public void updateZeros(int count) {
        for (int i = 0; i < count; i++) {
            crc.update(0);
        }
    }

    /** Adds one byte. */
    public void updateByte(byte b) {
        crc.update(b);
    }

    public int value() {
        return (int) crc.getValue();
    }

    /** Stores a digest at {@code offset} of {@code s} in wire order (little-endian). */
    public static void store(MemorySegment s, long offset, int digest) {
        s.set(LE_INT, offset, digest);
    }

    /** Reads a digest stored in wire order. */
    public static int load(MemorySegment s, long offset) {
        return s.get(LE_INT, offset);
    }
}
