package io.ustor.nvme;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/** An active namespace from Identify Namespace (CNS 00h): size and the LBA format in use. */
public record NvmeNamespace(int nsid, long numBlocks, long capacityBlocks, int blockSize, int metadataSize,
                            int lbaFormatIndex, String nguid, String eui64, boolean deallocatedReadsZero) {

    /** Parses the 4096-byte structure; null when the namespace is inactive (size 0). */
    public static NvmeNamespace parse(int nsid, MemorySegment d) {
        long nsze = d.get(JAVA_LONG_UNALIGNED, 0);
        if (nsze == 0) {
            return null;
        }
        int flbas = IdentifyController.u8(d, 26);
        int index = (flbas & 0xf) | ((flbas >>> 5) & 0x3) << 4;
        long lbaf = 128 + 4L * index;
        int ms = IdentifyController.u16(d, lbaf);
        int lbads = IdentifyController.u8(d, lbaf + 2);
        // DLFEAT bits 2:0 = 001b: a deallocated block reads as zeroes
        boolean zeroes = (IdentifyController.u8(d, 33) & 0x7) == 1;
        return new NvmeNamespace(nsid, nsze, d.get(JAVA_LONG_UNALIGNED, 8), 1 << lbads, ms, index,
                hex(d, 104, 16), hex(d, 120, 8), zeroes);
    }

    private static String hex(MemorySegment d, long off, int len) {
        byte[] b = d.asSlice(off, len).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        for (byte x : b) {
            if (x != 0) {
                return HexFormat.of().formatHex(b);
            }
        }
        return null;
    }

    public long sizeBytes() {
        return numBlocks * blockSize;
    }
}
