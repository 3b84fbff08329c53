package io.ustor.vhost.client;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The virtio-blk request of one driver slot, whatever the ring: the header and status byte in the slot's
 * metadata area, data (or a discard/write-zeroes segment) in its bounce buffer. Both ring drivers use it, so the
 * request encoding and completion exist once. A request whose data the back end reaches directly (see
 * {@link DirectRegions}) skips the bounce buffer: {@code bounced} false.
 */
final class SlotRequest {
    /** Per-slot metadata: header at 0, status at 16, an indirect table of up to 3 descriptors at 64. */
    static final int SLOT_META = 128, STATUS = 16, TABLE = 64;
    /** In {@link #prepare}'s result: the data buffer is device-writable. */
    static final long DEVICE_WRITES = 1L << 40;

    private SlotRequest() {
    }

    /**
     * Writes {@code io}'s header into {@code meta} and, when {@code bounced}, its outgoing data into {@code bounce}:
     * the data length (0 for none) ORed with {@link #DEVICE_WRITES} for reads, or -errno (EOPNOTSUPP, EINVAL when
     * it does not fit).
     */
    static long prepare(BdevIo io, int blockSize, MemorySegment seg, long meta, long bounce, int bounceBytes,
                        boolean bounced) {
        long sector = io.offsetBlocks() * blockSize / Virtio.SECTOR_SIZE;
        long bytes = io.numBlocks() * blockSize;
        int type;
        long result;
        IoType t = io.type();
        switch (t) {
            case READ -> {
                type = Virtio.BLK_T_IN;
                result = bytes | DEVICE_WRITES;
            }
            case WRITE -> {
                type = Virtio.BLK_T_OUT;
                result = bytes;
            }
            case FLUSH -> {
                type = Virtio.BLK_T_FLUSH;
                result = 0;
                sector = 0;
            }
            case UNMAP, WRITE_ZEROES -> {
                type = t == IoType.UNMAP ? Virtio.BLK_T_DISCARD : Virtio.BLK_T_WRITE_ZEROES;
                long sectors = bytes / Virtio.SECTOR_SIZE;
                if (sectors > 0xffffffffL || bounceBytes < Virtio.BLK_DISCARD_SEGMENT) {
                    return -Errno.EINVAL;
                }
                seg.set(JAVA_LONG, bounce, sector);
                seg.set(JAVA_INT, bounce + 8, (int) sectors);
                seg.set(JAVA_INT, bounce + 12, 0);
                result = Virtio.BLK_DISCARD_SEGMENT;
                sector = 0;
            }
            default -> {
                return -Errno.EOPNOTSUPP;
            }
        }
        if (bytes > bounceBytes && (type == Virtio.BLK_T_IN || type == Virtio.BLK_T_OUT)) {
            return -Errno.EINVAL;
        }
        seg.set(JAVA_INT, meta, type);
        seg.set(JAVA_INT, meta + 4, 0);
        seg.set(JAVA_LONG, meta + 8, sector);
        seg.set(JAVA_BYTE, meta + STATUS, (byte) 0xff);
        if (type == Virtio.BLK_T_OUT && bounced) {
            io.copyFromIovs(seg, bounce);
        }
        return result;
    }

    /** Completes {@code io} from the slot's status byte (copying read data out of the bounce buffer if it used one). */
    static void finish(BdevIo io, MemorySegment seg, long meta, long bounce, boolean bounced) {
        int status = Byte.toUnsignedInt(seg.get(JAVA_BYTE, meta + STATUS));
        if (status == Virtio.BLK_S_OK && io.type() == IoType.READ && bounced) {
            io.copyIntoIovs(seg, bounce);
        }
        io.completeErrno(status == Virtio.BLK_S_OK ? 0 : status == Virtio.BLK_S_UNSUPP ? Errno.EOPNOTSUPP : Errno.EIO);
    }
}
