package io.ustor.scsi;

import java.lang.foreign.MemorySegment;

import static io.ustor.scsi.Bytes.get16;
import static io.ustor.scsi.Bytes.get8;

/**
 * The SANITIZE command (SBC-4 5.30): checks the CDB and the OVERWRITE parameter list, handles EXIT FAILURE MODE,
 * and starts a {@link SanitizeOperation}. With IMMED the command completes once the operation started; without,
 * when it ends (an abort of the command leaves the operation running, as SBC-4 requires).
 */
final class SanitizeCommand {
    static final int SA_OVERWRITE = 0x01, SA_BLOCK_ERASE = 0x02, SA_CRYPTO_ERASE = 0x03, SA_EXIT_FAILURE_MODE = 0x1f;

    private SanitizeCommand() {
    }

    static void execute(LunChannel lc, ScsiTask t, ScsiLun lun) {
        int b1 = t.cdbByte(1);
        boolean immed = (b1 & 0x80) != 0;
        boolean ause = (b1 & 0x20) != 0;
        int sa = b1 & 0x1f;
        if (sa != SA_OVERWRITE && sa != SA_BLOCK_ERASE && sa != SA_CRYPTO_ERASE && sa != SA_EXIT_FAILURE_MODE) {
            lc.completeInvalidField(t, 1, 4);
            return;
        }
        if ((b1 & 0x40) != 0) { // ZNR: this is not a zoned device
            lc.completeInvalidField(t, 1, 6);
            return;
        }
        for (int i = 2; i <= 6; i++) {
            if (t.cdbByte(i) != 0) {
                lc.completeInvalidField(t, i, -1);
                return;
            }
        }
        int paramLen = t.cdbU16(7);
        int blockSize = lun.blockSize();
        if (sa == SA_OVERWRITE ? paramLen < 5 || paramLen > blockSize + 4 : paramLen != 0) {
            lc.completeInvalidField(t, 7, -1);
            return;
        }
        t.transferred = paramLen;
        SanitizeOperation current = lun.sanitize;
        if (sa == SA_EXIT_FAILURE_MODE) {
            if (current != null && current.failed()) {
                if (!current.ause) {
                    lc.completeInvalidField(t, 1, 4); // restricted completion mode: only a new sanitize exits it
                    return;
                }
                lun.endSanitize(current);
            }
            lc.completeGood(t);
            return;
        }
        if (current != null && current.failed() && !current.ause && ause) {
            lc.completeInvalidField(t, 1, 5);
            return;
        }
        if (lun.readOnly() || lun.softwareWriteProtect) {
            lc.failWith(t, Sense.DATA_PROTECT, Sense.WRITE_PROTECTED, -1, -1, -1, true);
            return;
        }
        byte[] pattern = null;
        boolean invert = false;
        int passes = 1;
        if (sa == SA_OVERWRITE) {
            if (t.dataOutLength < paramLen) {
                lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR, -1, -1, -1, true);
                return;
            }
            MemorySegment p = t.buffer();
            int b0 = get8(p, 0);
            invert = (b0 & 0x80) != 0;
            passes = b0 & 0x1f;
            if ((b0 & 0x60) != 0) { // TEST: vendor-specific test modes, none here
                lc.completeInvalidParameter(t, 0, 6);
                return;
            }
            if (passes == 0) {
                lc.completeInvalidParameter(t, 0, 4);
                return;
            }
            int patternLength = get16(p, 2);
            if (patternLength == 0 || patternLength > blockSize || patternLength > paramLen - 4) {
                lc.completeInvalidParameter(t, 2, -1);
                return;
            }
            pattern = new byte[patternLength];
            MemorySegment.copy(p, java.lang.foreign.ValueLayout.JAVA_BYTE, 4, pattern, 0, patternLength);
        }
        SanitizeOperation.Method method = switch (sa) {
            case SA_OVERWRITE -> SanitizeOperation.Method.OVERWRITE;
            case SA_BLOCK_ERASE -> SanitizeOperation.Method.BLOCK_ERASE;
            default -> SanitizeOperation.Method.CRYPTO_ERASE;
        };
        SanitizeOperation op = new SanitizeOperation(lun, method, ause, pattern, invert, passes);
        if (!lun.beginSanitize(op)) {
            SanitizeOperation running = lun.sanitize;
            lc.failWithProgress(t, Sense.NOT_READY, Sense.SANITIZE_IN_PROGRESS, running == null ? 0 : running.progress());
            return;
        }
        lun.allDeallocated = false;
        if (immed) {
            lc.completeGood(t);
            op.start(lc, null);
        } else {
            op.start(lc, t);
        }
    }
}
