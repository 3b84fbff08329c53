package io.ustor.vhost.server;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoWaitEntry;
import io.ustor.env.Errno;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One virtio-blk request in flight on a {@link ServerQueue} (split or packed): its descriptor chain resolved into guest-memory
 * segments, the bdev I/O it became, and its status byte. Preallocated per queue (one per ring entry) and reused;
 * it is its own bdev callback and io-wait entry, so serving a request allocates no task objects.
 */
final class BlkTask implements BdevIoCallback, BdevIoWaitEntry {
    /** Segments one request may have: seg_max data segments plus header, status and region splits. */
    static final int MAX_SEGMENTS = ServerQueue.SEG_MAX + 8;

    private final ServerQueue queue;
    final int slot;
    int head;
    boolean busy;
    // The chain: readable segments first, then writable ones, as (region, offset, length).
    final int[] segRegion = new int[MAX_SEGMENTS];
    final long[] segOffset = new long[MAX_SEGMENTS];
    final long[] segLength = new long[MAX_SEGMENTS];
    int segCount, readableCount;
    boolean sawWritable;
    /** Ring descriptors the chain took (packed rings: the used position moves past as many). */
    int ringDescs;
    /** The head entry of the chain in a packed ring's inflight buffer, or -1. */
    int inflightEntry = -1;
    long readableBytes, writableBytes;
    // The request.
    int type;
    long offsetBlocks, numBlocks;
    final MemorySegment[] iovs = new MemorySegment[MAX_SEGMENTS];
    int iovCount;
    // The guest-memory slices made for earlier requests, per iov position: drivers reuse their buffers (fio, the
    // virtio client's bounce buffers, a guest's pinned pages), so a repeat costs no allocation.
    private final MemorySegment[] cached = new MemorySegment[MAX_SEGMENTS];
    private final int[] cachedRegion = new int[MAX_SEGMENTS];
    private final long[] cachedOffset = new long[MAX_SEGMENTS];
    int usedLength;
    private final MemorySegment scratch = MemorySegment.ofArray(new long[4]);

    BlkTask(ServerQueue queue, int slot) {
        this.queue = queue;
        this.slot = slot;
    }

    void reset(int head) {
        this.head = head;
        segCount = 0;
        readableCount = 0;
        sawWritable = false;
        ringDescs = 1;
        readableBytes = 0;
        writableBytes = 0;
        iovCount = 0;
        usedLength = 0;
    }

    boolean addSegment(int region, long offset, long length, boolean writable) {
        if (segCount == MAX_SEGMENTS) {
            return false;
        }
        segRegion[segCount] = region;
        segOffset[segCount] = offset;
        segLength[segCount] = length;
        segCount++;
        if (writable) {
            writableBytes += length;
        } else {
            readableCount++;
            readableBytes += length;
        }
        return true;
    }

    /** Copies {@code length} readable bytes starting {@code from} bytes into the chain into the scratch area. */
    MemorySegment readableBytes(GuestMemory mem, long from, int length) {
        long skip = from;
        int copied = 0;
        for (int i = 0; i < readableCount && copied < length; i++) {
            long len = segLength[i];
            if (skip >= len) {
                skip -= len;
                continue;
            }
            int n = (int) Math.min(len - skip, length - copied);
            MemorySegment.copy(mem.region(segRegion[i]), segOffset[i] + skip, scratch, copied, n);
            copied += n;
            skip = 0;
        }
        return scratch;
    }

    /** Header fields from the first 16 readable bytes. */
    void decodeHeader(GuestMemory mem) {
        MemorySegment h = readableBytes(mem, 0, Virtio.BLK_REQ_HEADER);
        type = h.get(JAVA_INT_UNALIGNED, 0);
        offsetBlocks = h.get(JAVA_LONG_UNALIGNED, 8); // the sector, until the queue converts it
    }

    /**
     * Collects data segments as iovs: readable bytes after the header ({@code readable}) or writable bytes before
     * the status byte. Returns the byte count, or -1 when there are more than the iov array holds.
     */
    long collectData(GuestMemory mem, boolean readable) {
        iovCount = 0;
        long total = 0;
        if (readable) {
            long skip = Virtio.BLK_REQ_HEADER;
            for (int i = 0; i < readableCount; i++) {
                long len = segLength[i];
                if (skip >= len) {
                    skip -= len;
                    continue;
                }
                iovs[iovCount] = slice(mem, iovCount, segRegion[i], segOffset[i] + skip, len - skip);
                iovCount++;
                total += len - skip;
                skip = 0;
            }
        } else {
            long left = writableBytes - 1;
            for (int i = readableCount; i < segCount && left > 0; i++) {
                long n = Math.min(segLength[i], left);
                if (n > 0) {
                    iovs[iovCount] = slice(mem, iovCount, segRegion[i], segOffset[i], n);
                    iovCount++;
                    total += n;
                    left -= n;
                }
            }
        }
        return total;
    }

    private MemorySegment slice(GuestMemory mem, int pos, int region, long offset, long length) {
        MemorySegment c = cached[pos];
        if (c != null && cachedRegion[pos] == region && cachedOffset[pos] == offset && c.byteSize() == length) {
            return c;
        }
        c = mem.region(region).asSlice(offset, length);
        cached[pos] = c;
        cachedRegion[pos] = region;
        cachedOffset[pos] = offset;
        return c;
    }

    /** Writes {@code length} bytes of {@code src} to the writable bytes of the chain (before the status byte). */
    int writeData(GuestMemory mem, MemorySegment src, int length) {
        long left = Math.min(length, writableBytes - 1);
        int done = 0;
        for (int i = readableCount; i < segCount && left > 0; i++) {
            int n = (int) Math.min(segLength[i], left);
            MemorySegment.copy(src, done, mem.region(segRegion[i]), segOffset[i], n);
            done += n;
            left -= n;
        }
        return done;
    }

    /** Stores the status in the last writable byte of the chain. */
    void writeStatus(GuestMemory mem, int status) {
        int last = segCount - 1;
        mem.region(segRegion[last]).set(JAVA_BYTE, segOffset[last] + segLength[last] - 1, (byte) status);
    }

    /** Marks the pages of every writable segment in the dirty log (what the device may have written). */
    void logWritable(GuestMemory mem, DirtyLog log) {
        for (int i = readableCount; i < segCount; i++) {
            log.mark(mem.regionGpa(segRegion[i]) + segOffset[i], segLength[i]);
        }
    }

    void clearIovs() {
        iovCount = 0; // the slices stay cached for the next request on this head
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        queue.complete(this, success ? Virtio.BLK_S_OK : Virtio.BLK_S_IOERR);
    }

    @Override
    public void onRetry() {
        int rc = queue.submit(this);
        if (rc == -Errno.ENOMEM) {
            queue.waitForIo(this);
        } else if (rc < 0) {
            queue.complete(this, Virtio.BLK_S_IOERR);
        }
    }
}
