package io.ustor.nvme.internal;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Encodes 64-byte submission queue entries (NVMe base spec, "Submission Queue Entry"): dword 0 opcode (bits 7:0) and
 * command identifier (bits 31:16), dword 1 namespace, dwords 6-9 PRP1/PRP2, dwords 10-15 command specific.
 */
public final class NvmeCommands {
    public static final int SQE_SIZE = 64, CQE_SIZE = 16;

    /** Admin opcodes. */
    public static final int ADM_DELETE_SQ = 0x00, ADM_CREATE_SQ = 0x01, ADM_GET_LOG_PAGE = 0x02, ADM_DELETE_CQ = 0x04,
            ADM_CREATE_CQ = 0x05, ADM_IDENTIFY = 0x06, ADM_ABORT = 0x08, ADM_SET_FEATURES = 0x09,
            ADM_GET_FEATURES = 0x0a, ADM_ASYNC_EVENT = 0x0c, ADM_FORMAT_NVM = 0x80;
    /** NVM command set opcodes. */
    public static final int NVM_FLUSH = 0x00, NVM_WRITE = 0x01, NVM_READ = 0x02, NVM_COMPARE = 0x05,
            NVM_WRITE_ZEROES = 0x08, NVM_DSM = 0x09;
    /** Identify CNS values. */
    public static final int CNS_NAMESPACE = 0x00, CNS_CONTROLLER = 0x01, CNS_ACTIVE_NS_LIST = 0x02;
    /** Feature identifiers. */
    public static final int FEAT_ARBITRATION = 0x01, FEAT_VOLATILE_WRITE_CACHE = 0x06, FEAT_NUMBER_OF_QUEUES = 0x07;
    /** Log page identifiers. */
    public static final int LOG_ERROR = 0x01, LOG_SMART = 0x02;
    /** Read/write dword 12 bits. */
    public static final int RW_FUA = 1 << 30, WZ_DEAC = 1 << 25;
    /** Dataset management attribute: deallocate. */
    public static final int DSM_DEALLOCATE = 1 << 2;
    /** Bytes of one DSM range. */
    public static final int DSM_RANGE_SIZE = 16;

    private NvmeCommands() {
    }

    /** Clears the entry and sets opcode, command id and namespace. */
    public static void header(MemorySegment m, long off, int opcode, int cid, int nsid) {
        for (int i = 0; i < SQE_SIZE; i += 8) {
            m.set(JAVA_LONG, off + i, 0L);
        }
        m.set(JAVA_INT, off, (opcode & 0xff) | (cid << 16));
        m.set(JAVA_INT, off + 4, nsid);
    }

    public static void prp(MemorySegment m, long off, long prp1, long prp2) {
        m.set(JAVA_LONG, off + 24, prp1);
        m.set(JAVA_LONG, off + 32, prp2);
    }

    /** Command dword {@code n} (10..15). */
    public static void cdw(MemorySegment m, long off, int n, int value) {
        m.set(JAVA_INT, off + 4L * n, value);
    }

    public static int opcode(MemorySegment m, long off) {
        return m.get(JAVA_INT, off) & 0xff;
    }

    /** Read, write, compare, write zeroes: starting LBA in dwords 10-11, 0-based block count and flags in dword 12. */
    public static void lbaRange(MemorySegment m, long off, long slba, int nlb, int cdw12Flags) {
        m.set(JAVA_LONG, off + 40, slba);
        m.set(JAVA_INT, off + 48, ((nlb - 1) & 0xffff) | cdw12Flags);
    }

    /** Writes one DSM range: context attributes, length in blocks, starting LBA. */
    public static void dsmRange(MemorySegment m, long off, long slba, int nlb) {
        m.set(JAVA_INT, off, 0);
        m.set(JAVA_INT, off + 4, nlb);
        m.set(JAVA_LONG, off + 8, slba);
    }
}
