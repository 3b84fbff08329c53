package io.ustor.vhost.virtio;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * struct virtio_blk_config (virtio 1.2, 5.2.4), little-endian. {@link #SIZE} covers the fields through
 * secure-erase; a reader asking for more gets zeroes after them.
 */
public record BlkConfig(long capacitySectors, int sizeMax, int segMax, int blkSize, int physicalBlockExp,
                        int minIoSize, int optIoSize, boolean writeback, int numQueues, int maxDiscardSectors,
                        int maxDiscardSeg, int discardSectorAlignment, int maxWriteZeroesSectors,
                        int maxWriteZeroesSeg, boolean writeZeroesMayUnmap) {
    public static final int SIZE = 72;
    public static final int OFF_CAPACITY = 0, OFF_SIZE_MAX = 8, OFF_SEG_MAX = 12, OFF_BLK_SIZE = 20,
            OFF_PHYS_BLOCK_EXP = 24, OFF_ALIGNMENT_OFFSET = 25, OFF_MIN_IO_SIZE = 26, OFF_OPT_IO_SIZE = 28,
            OFF_WRITEBACK = 32, OFF_NUM_QUEUES = 34, OFF_MAX_DISCARD_SECTORS = 36, OFF_MAX_DISCARD_SEG = 40,
            OFF_DISCARD_ALIGNMENT = 44, OFF_MAX_WZ_SECTORS = 48, OFF_MAX_WZ_SEG = 52, OFF_WZ_MAY_UNMAP = 56;
    /** Bytes through write_zeroes_may_unmap and its padding: what a client needs (all servers have at least this). */
    public static final int CLIENT_READ_SIZE = 60;

    /** Writes the config into {@code dst} at {@code offset} (SIZE bytes). */
    public void write(MemorySegment dst, long offset) {
        dst.asSlice(offset, SIZE).fill((byte) 0);
        dst.set(JAVA_LONG_UNALIGNED, offset + OFF_CAPACITY, capacitySectors);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_SIZE_MAX, sizeMax);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_SEG_MAX, segMax);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_BLK_SIZE, blkSize);
        dst.set(JAVA_BYTE, offset + OFF_PHYS_BLOCK_EXP, (byte) physicalBlockExp);
        dst.set(JAVA_SHORT_UNALIGNED, offset + OFF_MIN_IO_SIZE, (short) minIoSize);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_OPT_IO_SIZE, optIoSize);
        dst.set(JAVA_BYTE, offset + OFF_WRITEBACK, (byte) (writeback ? 1 : 0));
        dst.set(JAVA_SHORT_UNALIGNED, offset + OFF_NUM_QUEUES, (short) numQueues);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_MAX_DISCARD_SECTORS, maxDiscardSectors);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_MAX_DISCARD_SEG, maxDiscardSeg);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_DISCARD_ALIGNMENT, discardSectorAlignment);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_MAX_WZ_SECTORS, maxWriteZeroesSectors);
        dst.set(JAVA_INT_UNALIGNED, offset + OFF_MAX_WZ_SEG, maxWriteZeroesSeg);
        dst.set(JAVA_BYTE, offset + OFF_WZ_MAY_UNMAP, (byte) (writeZeroesMayUnmap ? 1 : 0));
    }

    /** Reads the fields present in {@code length} bytes of {@code src} (missing ones are 0). */
    public static BlkConfig read(MemorySegment src, long offset, int length) {
        MemorySegment s = MemorySegment.ofArray(new byte[SIZE]);
        MemorySegment.copy(src, offset, s, 0, Math.min(length, SIZE));
        return new BlkConfig(s.get(JAVA_LONG_UNALIGNED, OFF_CAPACITY), s.get(JAVA_INT_UNALIGNED, OFF_SIZE_MAX),
                s.get(JAVA_INT_UNALIGNED, OFF_SEG_MAX), s.get(JAVA_INT_UNALIGNED, OFF_BLK_SIZE),
                s.get(JAVA_BYTE, OFF_PHYS_BLOCK_EXP), Short.toUnsignedInt(s.get(JAVA_SHORT_UNALIGNED, OFF_MIN_IO_SIZE)),
                s.get(JAVA_INT_UNALIGNED, OFF_OPT_IO_SIZE), s.get(JAVA_BYTE, OFF_WRITEBACK) != 0,
                Short.toUnsignedInt(s.get(JAVA_SHORT_UNALIGNED, OFF_NUM_QUEUES)),
                s.get(JAVA_INT_UNALIGNED, OFF_MAX_DISCARD_SECTORS), s.get(JAVA_INT_UNALIGNED, OFF_MAX_DISCARD_SEG),
                s.get(JAVA_INT_UNALIGNED, OFF_DISCARD_ALIGNMENT), s.get(JAVA_INT_UNALIGNED, OFF_MAX_WZ_SECTORS),
                s.get(JAVA_INT_UNALIGNED, OFF_MAX_WZ_SEG), s.get(JAVA_BYTE, OFF_WZ_MAY_UNMAP) != 0);
    }
}
