package io.ustor.nvme.model;

import java.lang.foreign.MemorySegment;

import static io.ustor.nvme.model.ModelStatus.DATA_TRANSFER_ERROR;
import static io.ustor.nvme.model.ModelStatus.DNR;
import static io.ustor.nvme.model.ModelStatus.INVALID_FIELD;
import static io.ustor.nvme.model.ModelStatus.PRP_OFFSET_INVALID;

/**
 * The controller side of PRPs (NVMe base spec, "Physical Region Page Entry and List", memory page size 4 KiB):
 * PRP1 addresses the first byte (dword aligned, any offset); if the data needs one more page PRP2 addresses it,
 * otherwise PRP2 points at a PRP list (qword aligned) whose entries address whole pages; when the data needs more
 * entries than fit in the rest of a list page, the last entry of that page points at the next list page. Every
 * page entry must have offset 0, else PRP Offset Invalid; an address outside the attached DMA memory is a Data
 * Transfer Error. {@link #walk} validates the whole transfer before any byte moves; the copy methods then move data
 * page by page. Allocation-free, one per engine.
 */
final class PrpWalker {
    static final int PAGE = 4096;

    private final HostMemory host;
    private final long[] addr;
    private final long[] len;
    private int count;

    PrpWalker(HostMemory host, long maxTransferBytes) {
        this.host = host;
        int capacity = (int) (maxTransferBytes / PAGE) + 2;
        this.addr = new long[capacity];
        this.len = new long[capacity];
    }

    /** Resolves {@code length} bytes described by PRP1/PRP2 into host pieces; 0 or a status. */
    int walk(long prp1, long prp2, long length) {
        count = 0;
        if ((prp1 & 3) != 0) {
            return PRP_OFFSET_INVALID | DNR;
        }
        long first = Math.min(length, PAGE - (prp1 & (PAGE - 1)));
        int st = add(prp1, first);
        if (st != 0) {
            return st;
        }
        long left = length - first;
        if (left == 0) {
            return 0;
        }
        if (left <= PAGE) {
            return (prp2 & (PAGE - 1)) != 0 ? PRP_OFFSET_INVALID | DNR : add(prp2, left);
        }
        long list = prp2;
        if ((list & 7) != 0) {
            return PRP_OFFSET_INVALID | DNR;
        }
        int hops = 0;
        while (left > 0) {
            if (!host.reachable(list, 8)) {
                return DATA_TRANSFER_ERROR;
            }
            long entry = HostMemory.getLong(list);
            boolean lastInPage = ((list + 8) & (PAGE - 1)) == 0;
            if (lastInPage && left > PAGE) {
                // the page's last entry chains to the next list page
                if ((entry & 7) != 0) {
                    return PRP_OFFSET_INVALID | DNR;
                }
                if (++hops > addr.length) {
                    return INVALID_FIELD | DNR;
                }
                list = entry;
                continue;
            }
            if ((entry & (PAGE - 1)) != 0) {
                return PRP_OFFSET_INVALID | DNR;
            }
            long n = Math.min(left, PAGE);
            st = add(entry, n);
            if (st != 0) {
                return st;
            }
            left -= n;
            list += 8;
        }
        return 0;
    }

    private int add(long a, long n) {
        if (count == addr.length) {
            return INVALID_FIELD | DNR;
        }
        if (!host.reachable(a, n)) {
            return DATA_TRANSFER_ERROR;
        }
        addr[count] = a;
        len[count] = n;
        count++;
        return 0;
    }

    /** Device to host: copies the walked length from {@code src} at {@code offset} into the host pages. */
    void toHost(MemorySegment src, long offset) {
        long off = offset;
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(src, off, HostMemory.ALL, addr[i], len[i]);
            off += len[i];
        }
    }

    /** Host to device: copies the host pages into {@code dst} at {@code offset}. */
    void fromHost(MemorySegment dst, long offset) {
        long off = offset;
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(HostMemory.ALL, addr[i], dst, off, len[i]);
            off += len[i];
        }
    }

    /** Whether the host pages hold the same bytes as {@code src} at {@code offset}. */
    boolean sameAsHost(MemorySegment src, long offset) {
        long off = offset;
        for (int i = 0; i < count; i++) {
            if (MemorySegment.mismatch(HostMemory.ALL, addr[i], addr[i] + len[i], src, off, off + len[i]) != -1) {
                return false;
            }
            off += len[i];
        }
        return true;
    }
}
