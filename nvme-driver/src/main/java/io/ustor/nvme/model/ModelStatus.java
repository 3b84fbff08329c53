package io.ustor.nvme.model;

import io.ustor.nvme.NvmeStatus;

/**
 * Completion statuses the model posts, in the driver's form (status code type in bits 10:8, status code in bits 7:0,
 * see {@link NvmeStatus}), plus {@link #DNR}: the Do Not Retry bit of the status field, set for errors a retry
 * cannot fix.
 */
final class ModelStatus {
    static final int DNR = 1 << 14;
    static final int SUCCESS = 0;
    // generic command status (SCT 0)
    static final int INVALID_OPCODE = 0x01, INVALID_FIELD = 0x02, DATA_TRANSFER_ERROR = 0x04, ABORT_REQUESTED = 0x07,
            ABORTED_SQ_DELETION = 0x08, INVALID_NAMESPACE = 0x0b, COMMAND_SEQUENCE_ERROR = 0x0c,
            PRP_OFFSET_INVALID = 0x13, LBA_OUT_OF_RANGE = 0x80;
    // command specific status (SCT 1)
    static final int CQ_INVALID = 0x100, INVALID_QUEUE_ID = 0x101, INVALID_QUEUE_SIZE = 0x102, AER_LIMIT_EXCEEDED = 0x105,
            INVALID_LOG_PAGE = 0x109, INVALID_FORMAT = 0x10a, INVALID_QUEUE_DELETION = 0x10c, FEATURE_NOT_SAVEABLE = 0x10d;
    // media and data integrity errors (SCT 2)
    static final int COMPARE_FAILURE = NvmeStatus.COMPARE_FAILURE;

    private ModelStatus() {
    }

    /** The 15-bit status field of a completion entry (dword 3 bits 31:17). */
    static int field(int status) {
        return (status & 0x7ff) | (status & DNR);
    }
}
