package io.ustor.nvme.internal;

import io.ustor.env.Errno;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Builds the data pointer of one command as Physical Region Page entries (NVMe base spec, "Physical Region Page
 * Entry and List"): PRP1 points at the first byte (dword aligned, any offset in its page); every later entry points
 * at the start of a page; when the data spans more than two pages PRP2 points at a PRP list. Buffers are added in
 * order; every buffer but the first must start on a page boundary and every buffer but the last must end on one,
 * otherwise the layout cannot be described by PRPs and {@link #add} returns -EINVAL.
 *
 * <p>The list is one preallocated page per command slot (no chaining): at most {@link #MAX_LIST_ENTRIES} entries
 * after PRP1, so at most {@link #MAX_TRANSFER_BYTES} per command. Allocation-free; reused for every command.
 */
public final class PrpBuilder {
    public static final int PAGE = 4096;
    public static final int MAX_LIST_ENTRIES = PAGE / 8;
    /** Largest transfer any layout fits: a page for PRP1 plus a full list. */
    public static final int MAX_TRANSFER_BYTES = MAX_LIST_ENTRIES * PAGE;

    private final IovaMap iovas;
    private MemorySegment list;
    private long listOffset;
    private long listIova;
    private long prp1;
    private int entries;
    private boolean endsOnPage;
    private long bytes;

    public PrpBuilder(IovaMap iovas) {
        this.iovas = iovas;
    }

    /** Starts a command whose list page is {@code list} at {@code listOffset} (page aligned), at bus address {@code listIova}. */
    public void reset(MemorySegment list, long listOffset, long listIova) {
        this.list = list;
        this.listOffset = listOffset;
        this.listIova = listIova;
        this.prp1 = -1;
        this.entries = 0;
        this.endsOnPage = true;
        this.bytes = 0;
    }

    /** Adds {@code length} bytes at virtual address {@code vaddr}; 0, -EINVAL (layout), -EFAULT (not DMA memory), -E2BIG. */
    public int add(long vaddr, long length) {
        if (length <= 0) {
            return -Errno.EINVAL;
        }
        long addr = vaddr;
        long left = length;
        if (prp1 == -1) {
            if ((addr & 3) != 0) {
                return -Errno.EINVAL;
            }
            long iova = iovas.iova(addr);
            if (iova < 0) {
                return -Errno.EFAULT;
            }
            prp1 = iova;
            long step = Math.min(left, PAGE - (addr & (PAGE - 1)));
            addr += step;
            left -= step;
        } else if (!endsOnPage || (addr & (PAGE - 1)) != 0) {
            return -Errno.EINVAL;
        }
        while (left > 0) {
            if (entries == MAX_LIST_ENTRIES) {
                return -Errno.E2BIG;
            }
            long iova = iovas.iova(addr);
            if (iova < 0) {
                return -Errno.EFAULT;
            }
            list.set(JAVA_LONG, listOffset + 8L * entries, iova);
            entries++;
            long step = Math.min(left, PAGE);
            addr += step;
            left -= step;
        }
        endsOnPage = (addr & (PAGE - 1)) == 0;
        bytes += length;
        return 0;
    }

    /** PRP1 (0 when no data was added). */
    public long prp1() {
        return prp1 == -1 ? 0 : prp1;
    }

    /** PRP2: 0, the second page, or the list's address. */
    public long prp2() {
        return switch (entries) {
            case 0 -> 0;
            case 1 -> list.get(JAVA_LONG, listOffset);
            default -> listIova;
        };
    }

    /** Entries written to the list page (the second page counts even when it goes in PRP2 directly). */
    public int listEntries() {
        return entries;
    }

    /** Bytes added. */
    public long bytes() {
        return bytes;
    }
}
