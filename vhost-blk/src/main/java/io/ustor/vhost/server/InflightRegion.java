package io.ustor.vhost.server;

import io.ustor.env.MemFd;
import io.ustor.env.Mman;
import io.ustor.env.Posix;
import io.ustor.vhost.protocol.VhostProtocolException;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;

/**
 * The shared buffer of vhost-user's "Inflight I/O tracking" (PROTOCOL_F_INFLIGHT_SHMFD): one queue region per
 * virtqueue, laid out as the spec's {@code QueueRegionSplit} or, when the packed ring was negotiated,
 * {@code QueueRegionPacked}. The back end creates it for
 * GET_INFLIGHT_FD (a zeroed memfd), the front end keeps the descriptor and hands it back with SET_INFLIGHT_FD,
 * also to a restarted back end, which finds there the requests its predecessor had not completed.
 *
 * <p>Its content is written by an earlier back end and kept by the front end: untrusted, checked by
 * {@link InflightQueue#recover}.
 */
public final class InflightRegion {
    /** QueueRegionSplit: features u64, version u16, desc_num u16, last_batch_head u16, used_idx u16. */
    static final int QUEUE_HEADER = 16;
    /** DescStateSplit: inflight u8, padding[5], next u16, counter u64. */
    static final int DESC_STATE = 16;
    /** QueueRegionPacked's header and DescStatePacked (see {@link PackedInflightQueue}). */
    static final int PACKED_QUEUE_HEADER = 32, PACKED_DESC_STATE = 32;
    private static final int QUEUE_ALIGN = 64;

    private final MemorySegment mapping;
    private final int numQueues, queueSize;
    private final boolean packed;
    private final long queueBytes;

    private InflightRegion(MemorySegment mapping, int numQueues, int queueSize, boolean packed) {
        this.mapping = mapping;
        this.numQueues = numQueues;
        this.queueSize = queueSize;
        this.packed = packed;
        this.queueBytes = queueRegionBytes(queueSize, packed);
    }

    /** Bytes of one queue's region. */
    public static long queueRegionBytes(int queueSize, boolean packed) {
        long b = packed ? PACKED_QUEUE_HEADER + (long) PACKED_DESC_STATE * queueSize
                : QUEUE_HEADER + (long) DESC_STATE * queueSize;
        return (b + QUEUE_ALIGN - 1) / QUEUE_ALIGN * QUEUE_ALIGN;
    }

    /** Bytes of a buffer for {@code numQueues} queues of {@code queueSize} entries. */
    public static long bytes(int numQueues, int queueSize, boolean packed) {
        return queueRegionBytes(queueSize, packed) * numQueues;
    }

    static void checkShape(int numQueues, int queueSize, int maxQueues, boolean packed) {
        if (numQueues < 1 || numQueues > maxQueues) {
            throw new VhostProtocolException("inflight buffer for " + numQueues + " queues (1.." + maxQueues + ")");
        }
        if (queueSize < 1 || queueSize > Virtio.MAX_QUEUE_SIZE || (!packed && Integer.bitCount(queueSize) != 1)) {
            throw new VhostProtocolException("inflight buffer for queues of " + queueSize + " entries");
        }
    }

    /** GET_INFLIGHT_FD: a zeroed memfd of {@link #bytes} bytes; the caller owns the descriptor. */
    public static int createFd(String name, int numQueues, int queueSize, boolean packed) {
        return MemFd.create("vhost-inflight-" + name, bytes(numQueues, queueSize, packed), MemFd.MFD_CLOEXEC);
    }

    /**
     * SET_INFLIGHT_FD: maps {@code size} bytes at {@code offset} of {@code fd} (closed here either way), which must
     * hold {@code numQueues} regions of {@code queueSize} entries in the layout of the ring type.
     */
    public static InflightRegion map(int fd, long size, long offset, int numQueues, int queueSize, int maxQueues,
                                     boolean packed) {
        try {
            checkShape(numQueues, queueSize, maxQueues, packed);
            if (size < bytes(numQueues, queueSize, packed) || size > (1L << 30) || offset < 0 || offset % Mman.PAGE_SIZE != 0) {
                throw new VhostProtocolException("inflight buffer of " + size + " bytes at offset " + offset + " for "
                        + numQueues + " x " + queueSize);
            }
            if (Posix.fstat(fd).size() < offset + size) {
                throw new VhostProtocolException("inflight file is smaller than " + (offset + size) + " bytes");
            }
            MemorySegment m = Mman.mmap(MemorySegment.NULL, size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, offset);
            return new InflightRegion(m, numQueues, queueSize, packed);
        } finally {
            Posix.closeRaw(fd);
        }
    }

    public int numQueues() {
        return numQueues;
    }

    public int queueSize() {
        return queueSize;
    }

    /** Whether the regions have the packed-ring layout. */
    public boolean packed() {
        return packed;
    }

    /** Queue {@code index}'s region, or null when this buffer has none for it or its size or layout differs. */
    MemorySegment queue(int index, int size, boolean packedRing) {
        if (index >= numQueues || size != queueSize || packedRing != packed) {
            return null;
        }
        return mapping.asSlice(queueBytes * index, queueBytes);
    }

    /** Only after every queue that used it stopped. */
    public void unmap() {
        Mman.munmap(mapping);
    }
}
