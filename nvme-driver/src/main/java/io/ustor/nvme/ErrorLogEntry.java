package io.ustor.nvme;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/** One 64-byte entry of the Error Information log page (01h); {@code status} is decoded like {@link NvmeStatus}. */
public record ErrorLogEntry(long errorCount, int sqid, int cid, int status, int parameterLocation, long lba, int nsid) {
    public static final int SIZE = 64;

    public static ErrorLogEntry parse(MemorySegment d, long off) {
        return new ErrorLogEntry(d.get(JAVA_LONG_UNALIGNED, off), IdentifyController.u16(d, off + 8),
                IdentifyController.u16(d, off + 10), NvmeStatus.fromStatusField(IdentifyController.u16(d, off + 12) >>> 1),
                IdentifyController.u16(d, off + 14), d.get(JAVA_LONG_UNALIGNED, off + 16), d.get(JAVA_INT_UNALIGNED, off + 24));
    }

    @Override
    public String toString() {
        return "error #" + errorCount + " sqid " + sqid + " cid " + cid + " nsid " + nsid + " lba " + lba + ": " + NvmeStatus.name(status);
    }
}
