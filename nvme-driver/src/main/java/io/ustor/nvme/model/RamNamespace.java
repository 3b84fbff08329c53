package io.ustor.nvme.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * Namespace 1 of the model: its blocks are RAM (zero when created, deallocated or formatted, so deallocated blocks
 * read as zeroes, DLFEAT 001b). Two LBA formats: 0 = 512-byte blocks, 1 = 4096-byte blocks, no metadata.
 */
final class RamNamespace {
    static final int NSID = 1;
    /** LBA data size of each format, as a power of two. */
    private static final int[] LBADS = {9, 12};

    private final Arena arena = Arena.ofShared();
    private final MemorySegment media;
    private final byte[] nguid;
    private int format;
    private int shift;
    private long numBlocks;

    RamNamespace(long bytes, int blockSize, byte[] nguid) {
        this.media = arena.allocate(bytes, 4096);
        this.nguid = nguid.clone();
        format(blockSize == 4096 ? 1 : 0);
    }

    /** Formats with LBA format {@code index} (0 or 1): every block reads zeroes afterwards. */
    void format(int index) {
        format = index;
        shift = LBADS[index];
        numBlocks = media.byteSize() >>> shift;
        media.fill((byte) 0);
    }

    static int formats() {
        return LBADS.length;
    }

    MemorySegment media() {
        return media;
    }

    long numBlocks() {
        return numBlocks;
    }

    int blockShift() {
        return shift;
    }

    /** Whether blocks [slba, slba + nlb) exist (slba is unsigned in the command). */
    boolean inRange(long slba, long nlb) {
        return slba >= 0 && nlb >= 0 && slba <= numBlocks - nlb;
    }

    void zero(long slba, long nlb) {
        media.asSlice(slba << shift, nlb << shift).fill((byte) 0);
    }

    /** Identify Namespace (CNS 00h) into the zeroed 4096-byte {@code d}. */
    void identify(MemorySegment d) {
        d.set(JAVA_LONG_UNALIGNED, 0, numBlocks);   // NSZE
        d.set(JAVA_LONG_UNALIGNED, 8, numBlocks);   // NCAP
        d.set(JAVA_LONG_UNALIGNED, 16, numBlocks);  // NUSE
        d.set(JAVA_BYTE, 24, (byte) 0);             // NSFEAT: no thin provisioning
        d.set(JAVA_BYTE, 25, (byte) (LBADS.length - 1)); // NLBAF, 0-based
        d.set(JAVA_BYTE, 26, (byte) format);        // FLBAS: format in use, no metadata
        // DLFEAT: Write Zeroes may deallocate (bit 3), deallocated blocks read zeroes (bits 2:0 = 001b)
        d.set(JAVA_BYTE, 33, (byte) 0x09);
        MemorySegment.copy(nguid, 0, d, JAVA_BYTE, 104, 16);        // NGUID
        MemorySegment.copy(nguid, 8, d, JAVA_BYTE, 120, 8);         // EUI64: the low half of the NGUID
        for (int i = 0; i < LBADS.length; i++) {
            long lbaf = 128 + 4L * i;
            d.set(JAVA_SHORT_UNALIGNED, lbaf, (short) 0);           // MS: no metadata
            d.set(JAVA_BYTE, lbaf + 2, (byte) LBADS[i]);
            d.set(JAVA_BYTE, lbaf + 3, (byte) (i == 1 ? 0 : 2));    // RP: 4 KiB best, 512 good
        }
        d.set(JAVA_INT_UNALIGNED, 92, 0);
    }

    void close() {
        arena.close();
    }
}
