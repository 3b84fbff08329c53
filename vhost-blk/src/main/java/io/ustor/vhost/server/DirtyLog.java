package io.ustor.vhost.server;

import io.ustor.env.Mman;
import io.ustor.env.Posix;
import io.ustor.vhost.protocol.VhostProtocolException;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The front end's dirty-page log for live migration (vhost-user.rst "Migration", SET_LOG_BASE with LOG_SHMFD): one
 * bit per 4 KiB guest page, bit {@code page % 8} of byte {@code page / 8}, set with atomic ORs because the front
 * end reads and clears it concurrently. The bitmap is little-endian bytes, so a 64-bit word at offset {@code 8w}
 * holds pages {@code 64w..64w+63} in bits 0..63 on x86-64: one atomic OR per word touched.
 *
 * <p>{@link #mark} runs on queue reactors per request and allocates nothing.
 */
public final class DirtyLog {
    private static final VarHandle WORD = JAVA_LONG.varHandle();

    private final MemorySegment mapping, bits;
    private final long pages;

    private DirtyLog(MemorySegment mapping, MemorySegment bits, long size) {
        this.mapping = mapping;
        this.bits = bits;
        this.pages = size * 8;
    }

    /** Maps {@code size} bytes at {@code offset} of {@code fd} (closed here, mapped or not). */
    public static DirtyLog map(int fd, long size, long offset) {
        try {
            if (size <= 0 || offset < 0 || (offset & 7) != 0 || size > (1L << 40) || offset > (1L << 40)) {
                throw new VhostProtocolException("dirty log of " + size + " bytes at offset " + offset);
            }
            // A file shorter than the log would fault (SIGBUS) on the first mark past its end.
            Posix.FileStat st = Posix.fstat(fd);
            if (st.isRegularFile() && st.size() < offset + size) {
                throw new VhostProtocolException("dirty log file of " + st.size() + " bytes is shorter than "
                        + (offset + size));
            }
            // Whole pages: the word holding the log's last byte may reach a few bytes past it (never a bit past it).
            long length = (offset + size + 7 + Mman.PAGE_SIZE - 1) / Mman.PAGE_SIZE * Mman.PAGE_SIZE;
            MemorySegment map = Mman.mmap(MemorySegment.NULL, length, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
            return new DirtyLog(map, map.asSlice(offset, (size + 7) & ~7L), size);
        } finally {
            Posix.closeRaw(fd);
        }
    }

    /** Pages the log covers. */
    public long pages() {
        return pages;
    }

    /** Marks every page that {@code length} bytes at guest physical address {@code gpa} touch (beyond the log: not). */
    public void mark(long gpa, long length) {
        if (length <= 0 || gpa < 0) {
            return;
        }
        long p = gpa >>> Virtio.LOG_PAGE_SHIFT;
        long last = Math.min((gpa + length - 1) >>> Virtio.LOG_PAGE_SHIFT, pages - 1);
        while (p <= last) {
            long word = p >>> 6;
            long end = Math.min(last, (word << 6) + 63);
            int lo = (int) (p & 63), hi = (int) (end & 63);
            long mask = (hi == 63 ? -1L : (1L << (hi + 1)) - 1) & (-1L << lo);
            long ignored = (long) WORD.getAndBitwiseOr(bits, word << 3, mask);
            p = end + 1;
        }
    }

    /** Whether page {@code page}'s bit is set (tests, diagnostics). */
    public boolean isDirty(long page) {
        long w = (long) WORD.getVolatile(bits, (page >>> 6) << 3);
        return (w & (1L << (page & 63))) != 0;
    }

    /** Unmaps; only once no queue uses it. */
    public void unmap() {
        Mman.munmap(mapping);
    }
}
