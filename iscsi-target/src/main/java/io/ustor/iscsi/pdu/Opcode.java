package io.ustor.iscsi.pdu;

/** iSCSI opcodes (RFC 7143 section 11.1.1): byte 0 of the basic header segment, bits 0-5. */
public final class Opcode {
    // Initiator to target.
    public static final int NOP_OUT = 0x00, SCSI_COMMAND = 0x01, TASK_MGMT_REQUEST = 0x02, LOGIN_REQUEST = 0x03,
            TEXT_REQUEST = 0x04, DATA_OUT = 0x05, LOGOUT_REQUEST = 0x06, SNACK_REQUEST = 0x10;
    // Target to initiator.
    public static final int NOP_IN = 0x20, SCSI_RESPONSE = 0x21, TASK_MGMT_RESPONSE = 0x22, LOGIN_RESPONSE = 0x23,
            TEXT_RESPONSE = 0x24, DATA_IN = 0x25, LOGOUT_RESPONSE = 0x26, R2T = 0x31, ASYNC_MESSAGE = 0x32,
            REJECT = 0x3f;

    private Opcode() {
    }

    /** A name for logs. */
    public static String name(int op) {
        return switch (op) {
            case NOP_OUT -> "NOP-Out";
            case SCSI_COMMAND -> "SCSI Command";
            case TASK_MGMT_REQUEST -> "Task Management Request";
            case LOGIN_REQUEST -> "Login Request";
            case TEXT_REQUEST -> "Text Request";
            case DATA_OUT -> "SCSI Data-Out";
            case LOGOUT_REQUEST -> "Logout Request";
            case SNACK_REQUEST -> "SNACK Request";
            case NOP_IN -> "NOP-In";
            case SCSI_RESPONSE -> "SCSI Response";
            case TASK_MGMT_RESPONSE -> "Task Management Response";
            case LOGIN_RESPONSE -> "Login Response";
            case TEXT_RESPONSE -> "Text Response";
            case DATA_IN -> "SCSI Data-In";
            case LOGOUT_RESPONSE -> "Logout Response";
            case R2T -> "R2T";
            case ASYNC_MESSAGE -> "Async Message";
            case REJECT -> "Reject";
            default -> String.format("opcode 0x%02x", op);
        };
    }
}
