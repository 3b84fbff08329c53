package io.ustor.scsi;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Sense keys, additional sense codes (ASC/ASCQ packed as 0xAAQQ) and the writer of fixed (0x70) and descriptor
 * (0x72) format sense data (SPC-4 section 4.5). Allocation-free.
 */
public final class Sense {
    public static final int NO_SENSE = 0x0, RECOVERED_ERROR = 0x1, NOT_READY = 0x2, MEDIUM_ERROR = 0x3,
            HARDWARE_ERROR = 0x4, ILLEGAL_REQUEST = 0x5, UNIT_ATTENTION = 0x6, DATA_PROTECT = 0x7,
            COPY_ABORTED = 0xa, ABORTED_COMMAND = 0xb, MISCOMPARE = 0xe;

    public static final int NO_ADDITIONAL = 0x0000, INVALID_OPCODE = 0x2000, LBA_OUT_OF_RANGE = 0x2100,
            INVALID_FIELD_IN_CDB = 0x2400, LU_NOT_SUPPORTED = 0x2500, INVALID_FIELD_IN_PARAMETER_LIST = 0x2600,
            PARAMETER_LIST_LENGTH_ERROR = 0x1a00, WRITE_PROTECTED = 0x2700, MISCOMPARE_DURING_VERIFY = 0x1d00,
            INVALID_FIELD_IN_INFORMATION_UNIT = 0x0e03, UNRECOVERED_READ_ERROR = 0x1100, WRITE_ERROR = 0x0c00,
            INTERNAL_TARGET_FAILURE = 0x4400, POWER_ON_RESET = 0x2900, BUS_DEVICE_RESET = 0x2903,
            I_T_NEXUS_LOSS = 0x2907, MODE_PARAMETERS_CHANGED = 0x2a01, RESERVATIONS_PREEMPTED = 0x2a03,
            RESERVATIONS_RELEASED = 0x2a04, REGISTRATIONS_PREEMPTED = 0x2a05, REPORTED_LUNS_CHANGED = 0x3f0e,
            CAPACITY_DATA_CHANGED = 0x2a09, SAVING_PARAMETERS_NOT_SUPPORTED = 0x3900,
            MEDIUM_NOT_PRESENT = 0x3a00, COMMAND_SEQUENCE_ERROR = 0x2c00, INSUFFICIENT_REGISTRATION_RESOURCES = 0x5504,
            MEDIUM_REMOVAL_PREVENTED = 0x5302, LU_NOT_READY_MANUAL_INTERVENTION = 0x0403,
            INVALID_RELEASE_OF_PERSISTENT_RESERVATION = 0x2604, NOT_READY_CAUSE_NOT_REPORTABLE = 0x0400,
            COPY_TARGET_DEVICE_NOT_REACHABLE = 0x0d02, TOO_MANY_SEGMENT_DESCRIPTORS = 0x2608,
            TOO_MANY_TARGET_DESCRIPTORS = 0x2606, UNSUPPORTED_TARGET_DESCRIPTOR_TYPE = 0x2607,
            UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE = 0x2609, ABORTED_COMMAND_FORMAT = 0x0000,
            SANITIZE_IN_PROGRESS = 0x041b, SANITIZE_COMMAND_FAILED = 0x3103, OPERATION_IN_PROGRESS = 0x0016,
            INSUFFICIENT_RESOURCES = 0x5503;

    /** Maximum sense bytes we produce (a fixed-format header with sense key specific bytes). */
    public static final int MAX_LENGTH = 32;

    private Sense() {
    }

    /**
     * Writes sense data into {@code out} and returns its length.
     *
     * @param info          the INFORMATION field, or -1 for none
     * @param fieldPointer  the byte (or bit with {@code bit >= 0}) in error for SKSV, or -1 for none
     * @param inCdb         whether the field pointer is into the CDB (C/D bit) rather than the parameter list
     */
    public static int write(MemorySegment out, boolean descriptorFormat, int key, int ascq, long info,
                            int fieldPointer, int bit, boolean inCdb) {
        out.asSlice(0, MAX_LENGTH).fill((byte) 0);
        int sks0 = 0;
        if (fieldPointer >= 0) {
            sks0 = 0x80 | (inCdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | (bit & 7) : 0);
        }
        if (!descriptorFormat) {
            out.set(JAVA_BYTE, 0, (byte) (info >= 0 ? 0xf0 : 0x70));
            out.set(JAVA_BYTE, 2, (byte) key);
            if (info >= 0) {
                putInt(out, 3, (int) info);
            }
            out.set(JAVA_BYTE, 7, (byte) 10);
            out.set(JAVA_BYTE, 12, (byte) (ascq >>> 8));
            out.set(JAVA_BYTE, 13, (byte) ascq);
            if (fieldPointer >= 0) {
                out.set(JAVA_BYTE, 15, (byte) sks0);
                out.set(JAVA_BYTE, 16, (byte) (fieldPointer >>> 8));
                out.set(JAVA_BYTE, 17, (byte) fieldPointer);
            }
            return 18;
        }
        out.set(JAVA_BYTE, 0, (byte) 0x72);
        out.set(JAVA_BYTE, 1, (byte) key);
        out.set(JAVA_BYTE, 2, (byte) (ascq >>> 8));
        out.set(JAVA_BYTE, 3, (byte) ascq);
        int len = 8;
        if (info >= 0) {
            out.set(JAVA_BYTE, len, (byte) 0x00);
            out.set(JAVA_BYTE, len + 1, (byte) 0x0a);
            out.set(JAVA_BYTE, len + 2, (byte) 0x80);
            putInt(out, len + 4, (int) (info >>> 32));
            putInt(out, len + 8, (int) info);
            len += 12;
        }
        if (fieldPointer >= 0) {
            out.set(JAVA_BYTE, len, (byte) 0x02);
            out.set(JAVA_BYTE, len + 1, (byte) 0x06);
            out.set(JAVA_BYTE, len + 4, (byte) sks0);
            out.set(JAVA_BYTE, len + 5, (byte) (fieldPointer >>> 8));
            out.set(JAVA_BYTE, len + 6, (byte) fieldPointer);
            len += 8;
        }
        out.set(JAVA_BYTE, 7, (byte) (len - 8));
        return len;
    }

    /**
     * Writes sense data whose sense key specific field is a PROGRESS INDICATION (SPC-4 4.5.2.4.4: a fraction of
     * 65536), as NOT READY conditions of long operations report it; returns its length.
     */
    public static int writeProgress(MemorySegment out, boolean descriptorFormat, int key, int ascq, int progress) {
        out.asSlice(0, MAX_LENGTH).fill((byte) 0);
        if (!descriptorFormat) {
            out.set(JAVA_BYTE, 0, (byte) 0x70);
            out.set(JAVA_BYTE, 2, (byte) key);
            out.set(JAVA_BYTE, 7, (byte) 10);
            out.set(JAVA_BYTE, 12, (byte) (ascq >>> 8));
            out.set(JAVA_BYTE, 13, (byte) ascq);
            out.set(JAVA_BYTE, 15, (byte) 0x80);
            out.set(JAVA_BYTE, 16, (byte) (progress >>> 8));
            out.set(JAVA_BYTE, 17, (byte) progress);
            return 18;
        }
        out.set(JAVA_BYTE, 0, (byte) 0x72);
        out.set(JAVA_BYTE, 1, (byte) key);
        out.set(JAVA_BYTE, 2, (byte) (ascq >>> 8));
        out.set(JAVA_BYTE, 3, (byte) ascq);
        out.set(JAVA_BYTE, 7, (byte) 8);
        out.set(JAVA_BYTE, 8, (byte) 0x02);
        out.set(JAVA_BYTE, 9, (byte) 0x06);
        out.set(JAVA_BYTE, 12, (byte) 0x80);
        out.set(JAVA_BYTE, 13, (byte) (progress >>> 8));
        out.set(JAVA_BYTE, 14, (byte) progress);
        return 16;
    }

    private static void putInt(MemorySegment s, long off, int v) {
        s.set(JAVA_BYTE, off, (byte) (v >>> 24));
        s.set(JAVA_BYTE, off + 1, (byte) (v >>> 16));
        s.set(JAVA_BYTE, off + 2, (byte) (v >>> 8));
        s.set(JAVA_BYTE, off + 3, (byte) v);
    }
}
