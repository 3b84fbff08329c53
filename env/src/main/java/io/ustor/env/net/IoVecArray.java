package io.ustor.env.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A preallocated array of {@code struct iovec} plus the {@code struct msghdr} that points at it, for
 * {@link TcpSockets#sendvRaw} and {@link TcpSockets#recvvRaw}. Owned by one thread (one connection); refilled per
 * call without allocating.
 */
public final class IoVecArray {
    private static final long IOVEC_SIZE = 16;
    /** struct msghdr on x86-64: name(8) namelen(4)+pad, iov(8), iovlen(8), control(8), controllen(8), flags(4)+pad. */
    static final long MSGHDR_SIZE = 56, MSG_IOV = 16, MSG_IOVLEN = 24;

    private final int capacity;
    private final MemorySegment iovecs;
    private final MemorySegment msghdr;
    private int count;

    /** An array of {@code capacity} iovecs in memory of {@code arena}. */
    public IoVecArray(Arena arena, int capacity) {
        if (capacity <= 0 || capacity > 1024) {
            throw new IllegalArgumentException("iovec capacity " + capacity + " outside 1..1024 (IOV_MAX)");
        }
        this.capacity = capacity;
        this.iovecs = arena.allocate(IOVEC_SIZE * capacity, 8);
        this.msghdr = arena.allocate(MSGHDR_SIZE, 8);
        msghdr.set(ADDRESS, MSG_IOV, iovecs);
    }

    public int capacity() {
        return capacity;
    }

    /** Number of entries set since the last {@link #clear}. */
    public int count() {
        return count;
    }

    public void clear() {
        count = 0;
    }

    /** Appends {@code length} bytes of {@code segment} from {@code offset} (a native segment). */
    public void add(MemorySegment segment, long offset, long length) {
        if (count == capacity) {
            throw new IndexOutOfBoundsException("iovec array full (" + capacity + ")");
        }
        if (offset < 0 || length < 0 || offset + length > segment.byteSize()) {
            throw new IndexOutOfBoundsException("iovec " + offset + "+" + length + " outside " + segment.byteSize());
        }
        long base = count * IOVEC_SIZE;
        iovecs.set(JAVA_LONG, base, segment.address() + offset);
        iovecs.set(JAVA_LONG, base + 8, length);
        count++;
    }

    /** Total bytes described by the entries. */
    public long totalBytes() {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += iovecs.get(JAVA_LONG, i * IOVEC_SIZE + 8);
        }
        return total;
    }

    /**
     * Drops the first {@code bytes} described (after a partial send), so the next call continues where the kernel
     * stopped.
     */
    public void consume(long bytes) {
        int first = 0;
        while (first < count && bytes > 0) {
            long base = first * IOVEC_SIZE;
            long len = iovecs.get(JAVA_LONG, base + 8);
            if (bytes >= len) {
                bytes -= len;
                first++;
            } else {
                iovecs.set(JAVA_LONG, base, iovecs.get(JAVA_LONG, base) + bytes);
                iovecs.set(JAVA_LONG, base + 8, len - bytes);
                bytes = 0;
            }
        }
        if (first > 0) {
            MemorySegment.copy(iovecs, first * IOVEC_SIZE, iovecs, 0, (count - first) * IOVEC_SIZE);
            count -= first;
        }
    }

    MemorySegment iovecs() {
        return iovecs;
    }

    /** The msghdr, its iovec count set to {@link #count()}. */
    MemorySegment msghdr() {
        msghdr.set(JAVA_LONG, MSG_IOVLEN, count);
        return msghdr;
    }
}
