package io.ustor.scsi;

/** SCSI operation codes ustor implements (SPC-4, SBC-3) and their CDB lengths. */
final class Cdb {
    static final int TEST_UNIT_READY = 0x00, REQUEST_SENSE = 0x03, READ_6 = 0x08, WRITE_6 = 0x0a,
            INQUIRY = 0x12, MODE_SELECT_6 = 0x15, RESERVE_6 = 0x16, RELEASE_6 = 0x17, MODE_SENSE_6 = 0x1a,
            START_STOP_UNIT = 0x1b, PREVENT_ALLOW = 0x1e, READ_CAPACITY_10 = 0x25, READ_10 = 0x28,
            WRITE_10 = 0x2a, WRITE_VERIFY_10 = 0x2e, VERIFY_10 = 0x2f, PRE_FETCH_10 = 0x34,
            SYNCHRONIZE_CACHE_10 = 0x35, READ_DEFECT_DATA_10 = 0x37, WRITE_SAME_10 = 0x41, UNMAP = 0x42,
            SANITIZE = 0x48,
            MODE_SELECT_10 = 0x55, RESERVE_10 = 0x56, RELEASE_10 = 0x57, MODE_SENSE_10 = 0x5a,
            PERSISTENT_RESERVE_IN = 0x5e, PERSISTENT_RESERVE_OUT = 0x5f, EXTENDED_COPY = 0x83,
            RECEIVE_COPY_RESULTS = 0x84, READ_16 = 0x88, COMPARE_AND_WRITE = 0x89, WRITE_16 = 0x8a,
            ORWRITE_16 = 0x8b, WRITE_VERIFY_16 = 0x8e, VERIFY_16 = 0x8f, PRE_FETCH_16 = 0x90,
            SYNCHRONIZE_CACHE_16 = 0x91, WRITE_SAME_16 = 0x93, WRITE_ATOMIC_16 = 0x9c,
            SERVICE_ACTION_IN_16 = 0x9e, REPORT_LUNS = 0xa0, MAINTENANCE_IN = 0xa3, READ_12 = 0xa8,
            WRITE_12 = 0xaa, WRITE_VERIFY_12 = 0xae, VERIFY_12 = 0xaf, READ_DEFECT_DATA_12 = 0xb7;
    /** Service actions. */
    static final int SA_READ_CAPACITY_16 = 0x10, SA_GET_LBA_STATUS = 0x12, SA_REPORT_SUPPORTED_OPCODES = 0x0c;

    /**
     * The commands reported by REPORT SUPPORTED OPERATION CODES: {opcode, service action or -1, CDB length}.
     */
    static final int[][] SUPPORTED = {
            {TEST_UNIT_READY, -1, 6}, {REQUEST_SENSE, -1, 6}, {READ_6, -1, 6}, {WRITE_6, -1, 6},
            {INQUIRY, -1, 6}, {MODE_SELECT_6, -1, 6}, {RESERVE_6, -1, 6}, {RELEASE_6, -1, 6},
            {MODE_SENSE_6, -1, 6}, {START_STOP_UNIT, -1, 6}, {PREVENT_ALLOW, -1, 6},
            {READ_CAPACITY_10, -1, 10}, {READ_10, -1, 10}, {WRITE_10, -1, 10}, {WRITE_VERIFY_10, -1, 10},
            {VERIFY_10, -1, 10}, {PRE_FETCH_10, -1, 10}, {SYNCHRONIZE_CACHE_10, -1, 10},
            {READ_DEFECT_DATA_10, -1, 10}, {WRITE_SAME_10, -1, 10}, {UNMAP, -1, 10}, {MODE_SELECT_10, -1, 10},
            {RESERVE_10, -1, 10}, {RELEASE_10, -1, 10}, {MODE_SENSE_10, -1, 10},
            {PERSISTENT_RESERVE_IN, 0, 10}, {PERSISTENT_RESERVE_IN, 1, 10}, {PERSISTENT_RESERVE_IN, 2, 10},
            {PERSISTENT_RESERVE_IN, 3, 10},
            {PERSISTENT_RESERVE_OUT, 0, 10}, {PERSISTENT_RESERVE_OUT, 1, 10}, {PERSISTENT_RESERVE_OUT, 2, 10},
            {PERSISTENT_RESERVE_OUT, 3, 10}, {PERSISTENT_RESERVE_OUT, 4, 10}, {PERSISTENT_RESERVE_OUT, 6, 10},
            {READ_16, -1, 16}, {COMPARE_AND_WRITE, -1, 16}, {WRITE_16, -1, 16}, {ORWRITE_16, -1, 16},
            {WRITE_VERIFY_16, -1, 16}, {VERIFY_16, -1, 16}, {PRE_FETCH_16, -1, 16},
            {SYNCHRONIZE_CACHE_16, -1, 16}, {WRITE_SAME_16, -1, 16}, {WRITE_ATOMIC_16, -1, 16},
            {SERVICE_ACTION_IN_16, SA_READ_CAPACITY_16, 16}, {SERVICE_ACTION_IN_16, SA_GET_LBA_STATUS, 16},
            {REPORT_LUNS, -1, 12}, {MAINTENANCE_IN, SA_REPORT_SUPPORTED_OPCODES, 12},
            {READ_12, -1, 12}, {WRITE_12, -1, 12}, {WRITE_VERIFY_12, -1, 12}, {VERIFY_12, -1, 12},
            {READ_DEFECT_DATA_12, -1, 12},
            {SANITIZE, SanitizeCommand.SA_OVERWRITE, 10}, {SANITIZE, SanitizeCommand.SA_BLOCK_ERASE, 10},
            {SANITIZE, SanitizeCommand.SA_CRYPTO_ERASE, 10}, {SANITIZE, SanitizeCommand.SA_EXIT_FAILURE_MODE, 10},
            {EXTENDED_COPY, 0, 16},
            {RECEIVE_COPY_RESULTS, CopyResults.SA_COPY_STATUS, 16}, {RECEIVE_COPY_RESULTS, CopyResults.SA_RECEIVE_DATA, 16},
            {RECEIVE_COPY_RESULTS, CopyResults.SA_OPERATING_PARAMETERS, 16},
            {RECEIVE_COPY_RESULTS, CopyResults.SA_FAILED_SEGMENT_DETAILS, 16},
    };

    private Cdb() {
    }

    /** Whether {@code opcode} takes a service action in the low 5 bits of byte 1. */
    static boolean hasServiceAction(int opcode) {
        return opcode == PERSISTENT_RESERVE_IN || opcode == PERSISTENT_RESERVE_OUT
                || opcode == SERVICE_ACTION_IN_16 || opcode == MAINTENANCE_IN || opcode == SANITIZE
                || opcode == EXTENDED_COPY || opcode == RECEIVE_COPY_RESULTS;
    }

    /**
     * The CDB usage bitmap for REPORT SUPPORTED OPERATION CODES: which bits a command looks at. We report every
     * bit of every byte but the opcode as usable except reserved control bits (a conservative superset).
     */
    static void usage(java.lang.foreign.MemorySegment out, long off, int opcode, int sa, int len) {
        Bytes.u8(out, off, opcode);
        for (int i = 1; i < len - 1; i++) {
            Bytes.u8(out, off + i, 0xff);
        }
        if (sa >= 0) {
            Bytes.u8(out, off + 1, sa & 0x1f);
        }
        if (opcode == SANITIZE) {
            Bytes.u8(out, off + 1, 0x80 | 0x20 | (sa & 0x1f)); // IMMED, AUSE
            for (int i = 2; i <= 6; i++) {
                Bytes.u8(out, off + i, 0);              // reserved
            }
        }
        Bytes.u8(out, off + len - 1, 0x07); // control byte: NACA and vendor bits
    }
}
