package io.ustor.scsi;

import java.lang.foreign.MemorySegment;

import static io.ustor.scsi.Bytes.u16;
import static io.ustor.scsi.Bytes.u32;
import static io.ustor.scsi.Bytes.u8;
import static io.ustor.scsi.Bytes.zero;

/**
 * The EXTENDED COPY (LID1) operations of one I_T nexus by list identifier, while they run and, when their
 * parameter list asked for it (LIST ID USAGE 00b), after they end; and RECEIVE COPY RESULTS (SPC-4 6.22, LID1
 * formats) that reports them. Lives in the nexus's {@link LunChannel}, so it goes with the nexus. Reactor-confined.
 */
final class CopyResults {
    static final int SA_COPY_STATUS = 0x00, SA_RECEIVE_DATA = 0x01, SA_OPERATING_PARAMETERS = 0x03,
            SA_FAILED_SEGMENT_DETAILS = 0x04;
    /** Copies one nexus may have running or held at once. */
    static final int MAX_LISTS = 16;

    /** One list identifier's copy. */
    static final class Entry {
        int listId;
        boolean hold;
        boolean running;
        int status;
        int segmentsProcessed;
        long bytes;
        final byte[] sense = new byte[Sense.MAX_LENGTH];
        int senseLength;
    }

    private final Entry[] entries = new Entry[MAX_LISTS];
    private int victim;

    /** The running copy or held result for {@code listId}, or null. */
    Entry find(int listId) {
        for (Entry e : entries) {
            if (e != null && e.listId == listId && (e.running || e.hold)) {
                return e;
            }
        }
        return null;
    }

    /** Registers a copy about to run (replacing a held result of the same list); null when all slots run copies. */
    Entry begin(int listId, boolean hold) {
        int slot = -1;
        for (int i = 0; i < MAX_LISTS && slot < 0; i++) {
            Entry e = entries[i];
            if (e == null || (!e.running && (e.listId == listId || !e.hold))) {
                slot = i;
            }
        }
        for (int i = 0; i < MAX_LISTS && slot < 0; i++) {
            int j = (victim + i) % MAX_LISTS;
            if (!entries[j].running) {
                slot = j; // the oldest-evicted-first held result makes room
                victim = j + 1;
            }
        }
        if (slot < 0) {
            return null;
        }
        Entry e = entries[slot] == null ? entries[slot] = new Entry() : entries[slot];
        e.listId = listId;
        e.hold = hold;
        e.running = true;
        e.status = ScsiStatus.GOOD;
        e.segmentsProcessed = 0;
        e.bytes = 0;
        e.senseLength = 0;
        return e;
    }

    /** RECEIVE COPY RESULTS. */
    void receive(LunChannel lc, ScsiTask t) {
        int sa = t.cdbByte(1) & 0x1f;
        int listId = t.cdbByte(2);
        long alloc = t.cdbU32(10);
        MemorySegment out = t.ensureBuffer(64 + Sense.MAX_LENGTH);
        switch (sa) {
            case SA_OPERATING_PARAMETERS -> lc.completeDataIn(t, operatingParameters(out, lc.lun()), alloc);
            case SA_COPY_STATUS, SA_RECEIVE_DATA, SA_FAILED_SEGMENT_DETAILS -> {
                Entry e = find(listId);
                if (e == null) {
                    lc.completeInvalidField(t, 2, -1); // no copy with this list identifier
                    return;
                }
                int len = switch (sa) {
                    case SA_COPY_STATUS -> copyStatus(out, e);
                    case SA_RECEIVE_DATA -> receiveData(out);
                    default -> failedSegmentDetails(out, e);
                };
                lc.completeDataIn(t, len, alloc);
            }
            default -> lc.completeInvalidField(t, 1, 4);
        }
    }

    private static int copyStatus(MemorySegment out, Entry e) {
        zero(out, 0, 12);
        u32(out, 0, 8);
        // COPY MANAGER STATUS: 00h in progress, 01h completed without errors, 02h completed with errors.
        u8(out, 4, e.running ? 0x00 : e.status == ScsiStatus.GOOD ? 0x01 : 0x02);
        u16(out, 5, Math.min(e.segmentsProcessed, 0xffff));
        // TRANSFER COUNT UNITS: bytes while they fit in 32 bits, else kibibytes (01h) or mebibytes (02h).
        long count = e.bytes;
        int units = 0;
        while (count > 0xffffffffL && units < 2) {
            count >>>= 10;
            units++;
        }
        u8(out, 7, units);
        u32(out, 8, Math.min(count, 0xffffffffL));
        return 12;
    }

    /** Block-to-block segments hold no data: the held data list is empty. */
    private static int receiveData(MemorySegment out) {
        zero(out, 0, 4);
        return 4;
    }

    private static int failedSegmentDetails(MemorySegment out, Entry e) {
        if (e.running || e.status == ScsiStatus.GOOD) {
            zero(out, 0, 4); // nothing failed (yet)
            return 4;
        }
        int len = 60 + e.senseLength;
        zero(out, 0, len);
        u32(out, 0, len - 4);
        u8(out, 56, e.status);
        u16(out, 58, e.senseLength);
        MemorySegment.copy(e.sense, 0, out, java.lang.foreign.ValueLayout.JAVA_BYTE, 60, e.senseLength);
        return len;
    }

    private static int operatingParameters(MemorySegment out, ScsiLun lun) {
        int len = 44 + 2;
        zero(out, 0, len);
        u32(out, 0, len - 4);
        u8(out, 4, 0x01);                                        // SNLID: LIST ID USAGE 11b is supported
        u16(out, 8, ExtendedCopy.MAX_TARGET_DESCRIPTORS);
        u16(out, 10, ExtendedCopy.MAX_SEGMENT_DESCRIPTORS);
        u32(out, 12, ExtendedCopy.MAX_DESCRIPTOR_LIST_LENGTH);
        u32(out, 16, 0xffffL * lun.blockSize());                  // MAXIMUM SEGMENT LENGTH: a descriptor's 16-bit count
        u32(out, 20, 0);                                         // no inline data
        u32(out, 24, 0);                                         // no held data
        u32(out, 28, 0);                                         // no stream devices
        u16(out, 34, MAX_LISTS);                                 // TOTAL CONCURRENT COPIES
        u8(out, 36, MAX_LISTS);                                  // MAXIMUM CONCURRENT COPIES
        u8(out, 37, Integer.numberOfTrailingZeros(lun.blockSize())); // DATA SEGMENT GRANULARITY (log2)
        u8(out, 43, 2);                                          // implemented descriptor type codes:
        u8(out, 44, ExtendedCopy.SEGMENT_BLOCK_TO_BLOCK);
        u8(out, 45, ExtendedCopy.TARGET_IDENTIFICATION);
        return len;
    }
}
