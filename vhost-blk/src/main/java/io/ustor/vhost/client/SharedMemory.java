package io.ustor.vhost.client;

import io.ustor.env.MemFd;
import io.ustor.env.Mman;
import io.ustor.env.Posix;

import java.lang.foreign.MemorySegment;

/**
 * The client's "guest memory": one memfd, mapped shared, given to the vhost-user back end as one region. Guest
 * physical addresses are offsets plus {@link #GPA_BASE}.
 */
public final class SharedMemory implements AutoCloseable {
    /** Where the region starts in guest physical space (not 0, so a zero address is always a bug). */
    public static final long GPA_BASE = 1L << 32;

    private final int fd;
    private final MemorySegment segment;

    public SharedMemory(String name, long size) {
        long s = (size + Mman.PAGE_SIZE - 1) / Mman.PAGE_SIZE * Mman.PAGE_SIZE;
        this.fd = MemFd.create(name, s, MemFd.MFD_CLOEXEC);
        try {
            this.segment = Mman.mmap(MemorySegment.NULL, s, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        } catch (RuntimeException e) {
            Posix.closeRaw(fd);
            throw e;
        }
    }

    public int fd() {
        return fd;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long size() {
        return segment.byteSize();
    }

    /** The guest physical address of byte {@code offset}. */
    public long gpa(long offset) {
        return GPA_BASE + offset;
    }

    @Override
    public void close() {
        Mman.munmap(segment);
        Posix.closeRaw(fd);
    }
}
