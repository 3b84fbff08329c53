package io.ustor.nvme;

import io.ustor.env.Errno;

/**
 * Command completion status as the driver reports it: 0 is success; a positive value is the NVMe status
 * (status code type in bits 10:8, status code in bits 7:0, from completion queue entry dword 3 bits 27:17); a
 * negative value is -errno for a command the driver finished itself (aborted by a reset, device removed, timed out).
 * {@link #name(int)} decodes either into words from the NVMe base specification.
 */
public final class NvmeStatus {
    public static final int SUCCESS = 0;
    /** Status code types. */
    public static final int SCT_GENERIC = 0, SCT_COMMAND_SPECIFIC = 1, SCT_MEDIA = 2, SCT_PATH = 3, SCT_VENDOR = 7;
    /** A few codes the driver checks for. */
    public static final int INVALID_OPCODE = 0x01, INVALID_FIELD = 0x02, ABORT_REQUESTED = 0x07, ABORTED_SQ_DELETION = 0x08,
            INVALID_NAMESPACE = 0x0b, LBA_OUT_OF_RANGE = 0x80, COMPARE_FAILURE = (SCT_MEDIA << 8) | 0x85;

    private NvmeStatus() {
    }

    /** The driver's status from the 15-bit status field of a completion (CQE dword 3 bits 31:17). */
    public static int fromStatusField(int field) {
        return field & 0x7ff;
    }

    public static int sct(int status) {
        return (status >>> 8) & 0x7;
    }

    public static int sc(int status) {
        return status & 0xff;
    }

    /** "SUCCESS", "LBA Out of Range (sct 0 sc 0x80)", "driver: ECANCELED (...)" etc. */
    public static String name(int status) {
        if (status == 0) {
            return "Successful Completion";
        }
        if (status < 0) {
            return "driver: " + Errno.name(-status) + " (" + Errno.describe(-status) + ")";
        }
        int sct = sct(status), sc = sc(status);
        String n = switch (sct) {
            case SCT_GENERIC -> generic(sc);
            case SCT_COMMAND_SPECIFIC -> commandSpecific(sc);
            case SCT_MEDIA -> media(sc);
            case SCT_PATH -> path(sc);
            case SCT_VENDOR -> "Vendor Specific";
            default -> null;
        };
        return (n == null ? "Unknown status" : n) + " (sct " + sct + " sc 0x" + Integer.toHexString(sc) + ")";
    }

    private static String generic(int sc) {
        return switch (sc) {
            case 0x00 -> "Successful Completion";
            case 0x01 -> "Invalid Command Opcode";
            case 0x02 -> "Invalid Field in Command";
            case 0x03 -> "Command ID Conflict";
            case 0x04 -> "Data Transfer Error";
            case 0x05 -> "Commands Aborted due to Power Loss Notification";
            case 0x06 -> "Internal Error";
            case 0x07 -> "Command Abort Requested";
            case 0x08 -> "Command Aborted due to SQ Deletion";
            case 0x09 -> "Command Aborted due to Failed Fused Command";
            case 0x0a -> "Command Aborted due to Missing Fused Command";
            case 0x0b -> "Invalid Namespace or Format";
            case 0x0c -> "Command Sequence Error";
            case 0x0d -> "Invalid SGL Segment Descriptor";
            case 0x0e -> "Invalid Number of SGL Descriptors";
            case 0x0f -> "Data SGL Length Invalid";
            case 0x10 -> "Metadata SGL Length Invalid";
            case 0x11 -> "SGL Descriptor Type Invalid";
            case 0x12 -> "Invalid Use of Controller Memory Buffer";
            case 0x13 -> "PRP Offset Invalid";
            case 0x14 -> "Atomic Write Unit Exceeded";
            case 0x15 -> "Operation Denied";
            case 0x16 -> "SGL Offset Invalid";
            case 0x18 -> "Host Identifier Inconsistent Format";
            case 0x19 -> "Keep Alive Timer Expired";
            case 0x1a -> "Keep Alive Timeout Invalid";
            case 0x1b -> "Command Aborted due to Preempt and Abort";
            case 0x1c -> "Sanitize Failed";
            case 0x1d -> "Sanitize In Progress";
            case 0x1e -> "SGL Data Block Granularity Invalid";
            case 0x1f -> "Command Not Supported for Queue in CMB";
            case 0x20 -> "Namespace is Write Protected";
            case 0x21 -> "Command Interrupted";
            case 0x22 -> "Transient Transport Error";
            case 0x80 -> "LBA Out of Range";
            case 0x81 -> "Capacity Exceeded";
            case 0x82 -> "Namespace Not Ready";
            case 0x83 -> "Reservation Conflict";
            case 0x84 -> "Format In Progress";
            default -> null;
        };
    }

    private static String commandSpecific(int sc) {
        return switch (sc) {
            case 0x00 -> "Completion Queue Invalid";
            case 0x01 -> "Invalid Queue Identifier";
            case 0x02 -> "Invalid Queue Size";
            case 0x03 -> "Abort Command Limit Exceeded";
            case 0x05 -> "Asynchronous Event Request Limit Exceeded";
            case 0x06 -> "Invalid Firmware Slot";
            case 0x07 -> "Invalid Firmware Image";
            case 0x08 -> "Invalid Interrupt Vector";
            case 0x09 -> "Invalid Log Page";
            case 0x0a -> "Invalid Format";
            case 0x0b -> "Firmware Activation Requires Conventional Reset";
            case 0x0c -> "Invalid Queue Deletion";
            case 0x0d -> "Feature Identifier Not Saveable";
            case 0x0e -> "Feature Not Changeable";
            case 0x0f -> "Feature Not Namespace Specific";
            case 0x10 -> "Firmware Activation Requires NVM Subsystem Reset";
            case 0x11 -> "Firmware Activation Requires Controller Level Reset";
            case 0x12 -> "Firmware Activation Requires Maximum Time Violation";
            case 0x13 -> "Firmware Activation Prohibited";
            case 0x14 -> "Overlapping Range";
            case 0x15 -> "Namespace Insufficient Capacity";
            case 0x16 -> "Namespace Identifier Unavailable";
            case 0x18 -> "Namespace Already Attached";
            case 0x19 -> "Namespace Is Private";
            case 0x1a -> "Namespace Not Attached";
            case 0x1b -> "Thin Provisioning Not Supported";
            case 0x1c -> "Controller List Invalid";
            case 0x80 -> "Conflicting Attributes";
            case 0x81 -> "Invalid Protection Information";
            case 0x82 -> "Attempted Write to Read Only Range";
            default -> null;
        };
    }

    private static String media(int sc) {
        return switch (sc) {
            case 0x80 -> "Write Fault";
            case 0x81 -> "Unrecovered Read Error";
            case 0x82 -> "End-to-end Guard Check Error";
            case 0x83 -> "End-to-end Application Tag Check Error";
            case 0x84 -> "End-to-end Reference Tag Check Error";
            case 0x85 -> "Compare Failure";
            case 0x86 -> "Access Denied";
            case 0x87 -> "Deallocated or Unwritten Logical Block";
            default -> null;
        };
    }

    private static String path(int sc) {
        return switch (sc) {
            case 0x00 -> "Internal Path Error";
            case 0x01 -> "Asymmetric Access Persistent Loss";
            case 0x02 -> "Asymmetric Access Inaccessible";
            case 0x03 -> "Asymmetric Access Transition";
            case 0x60 -> "Controller Pathing Error";
            case 0x70 -> "Host Pathing Error";
            case 0x71 -> "Command Aborted By Host";
            default -> null;
        };
    }
}
