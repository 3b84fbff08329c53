package io.ustor.nvme.model;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The model's log pages: Error Information (01h, the newest {@link #ERROR_ENTRIES} failed commands, newest first)
 * and SMART / Health Information (02h, command and data counters). Only the engine thread writes; the counters are
 * also read by tests through the model.
 */
final class ModelLogs {
    /** Error log entries kept (Identify ELPE + 1). */
    static final int ERROR_ENTRIES = 64;
    private static final int ENTRY = 64;

    private final long[] errCount = new long[ERROR_ENTRIES];
    private final int[] errSqid = new int[ERROR_ENTRIES];
    private final int[] errCid = new int[ERROR_ENTRIES];
    private final int[] errStatus = new int[ERROR_ENTRIES];
    private final long[] errLba = new long[ERROR_ENTRIES];
    private final int[] errNsid = new int[ERROR_ENTRIES];
    private long errors;
    private final long startNanos = System.nanoTime();

    long readCommands, writeCommands, bytesRead, bytesWritten, mediaErrors;

    /** Records a failed command (status as in {@link ModelStatus}). */
    void error(int sqid, int cid, int status, int nsid, long lba) {
        errors++;
        int i = (int) (errors % ERROR_ENTRIES);
        errCount[i] = errors;
        errSqid[i] = sqid;
        errCid[i] = cid;
        errStatus[i] = ModelStatus.field(status);
        errNsid[i] = nsid;
        errLba[i] = lba;
    }

    long errors() {
        return errors;
    }

    /** The Error Information page into the zeroed {@code d} (room for every entry). */
    void errorPage(MemorySegment d) {
        long n = Math.min(errors, ERROR_ENTRIES);
        for (int k = 0; k < n; k++) {
            int i = (int) ((errors - k) % ERROR_ENTRIES);
            long off = (long) k * ENTRY;
            d.set(JAVA_LONG_UNALIGNED, off, errCount[i]);
            d.set(JAVA_SHORT_UNALIGNED, off + 8, (short) errSqid[i]);
            d.set(JAVA_SHORT_UNALIGNED, off + 10, (short) errCid[i]);
            d.set(JAVA_SHORT_UNALIGNED, off + 12, (short) (errStatus[i] << 1)); // bit 0 is the phase tag
            d.set(JAVA_SHORT_UNALIGNED, off + 14, (short) 0xffff);              // parameter location: not given
            d.set(JAVA_LONG_UNALIGNED, off + 16, errLba[i]);
            d.set(JAVA_INT_UNALIGNED, off + 24, errNsid[i]);
        }
    }

    /** The SMART / Health Information page into the zeroed {@code d} (512 bytes). */
    void smartPage(MemorySegment d) {
        d.set(JAVA_BYTE, 0, (byte) 0);                     // critical warning: none
        d.set(JAVA_SHORT_UNALIGNED, 1, (short) 310);       // composite temperature, kelvin
        d.set(JAVA_BYTE, 3, (byte) 100);                   // available spare %
        d.set(JAVA_BYTE, 4, (byte) 10);                    // available spare threshold %
        d.set(JAVA_BYTE, 5, (byte) 0);                     // percentage used
        // data units are thousands of 512-byte units, rounded up
        d.set(JAVA_LONG_UNALIGNED, 32, (bytesRead / 512 + 999) / 1000);
        d.set(JAVA_LONG_UNALIGNED, 48, (bytesWritten / 512 + 999) / 1000);
        d.set(JAVA_LONG_UNALIGNED, 64, readCommands);
        d.set(JAVA_LONG_UNALIGNED, 80, writeCommands);
        d.set(JAVA_LONG_UNALIGNED, 112, 1);                // power cycles
        d.set(JAVA_LONG_UNALIGNED, 128, (System.nanoTime() - startNanos) / 3_600_000_000_000L); // power-on hours
        d.set(JAVA_LONG_UNALIGNED, 144, 0);                // unsafe shutdowns
        d.set(JAVA_LONG_UNALIGNED, 160, mediaErrors);
        d.set(JAVA_LONG_UNALIGNED, 176, errors);           // error information log entries
    }
}
