package io.ustor.nvme.model;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/** The Identify Controller data structure (CNS 01h) of the model. */
final class ModelIdentify {
    static final String MODEL_NUMBER = "ustor in-memory NVMe controller model";
    static final String FIRMWARE = "0.1";
    /** NVMe 1.4.0, in VS and Identify VER. */
    static final int VERSION = 0x00010400;
    /** Abort Command Limit and Asynchronous Event Request Limit, 0-based. */
    static final int ACL = 3, AERL = 3;
    /** Optional NVM commands: Compare (bit 0), Dataset Management (bit 2), Write Zeroes (bit 3). */
    static final int ONCS = 0x0d;

    private ModelIdentify() {
    }

    static void controller(MemorySegment d, NvmeModelOptions o, int controllerId) {
        d.set(JAVA_SHORT_UNALIGNED, 0, (short) ModelPciDevice.VENDOR_ID);  // VID
        d.set(JAVA_SHORT_UNALIGNED, 2, (short) ModelPciDevice.VENDOR_ID);  // SSVID
        ascii(d, 4, 20, o.serialNumber());
        ascii(d, 24, 40, MODEL_NUMBER);
        ascii(d, 64, 8, FIRMWARE);
        d.set(JAVA_BYTE, 72, (byte) 0);                       // RAB
        d.set(JAVA_BYTE, 77, (byte) o.mdts());                // MDTS
        d.set(JAVA_SHORT_UNALIGNED, 78, (short) controllerId); // CNTLID
        d.set(JAVA_INT_UNALIGNED, 80, VERSION);               // VER
        d.set(JAVA_BYTE, 111, (byte) 1);                      // CNTRLTYPE: I/O controller
        d.set(JAVA_SHORT_UNALIGNED, 256, (short) 0x0002);     // OACS: Format NVM
        d.set(JAVA_BYTE, 258, (byte) ACL);
        d.set(JAVA_BYTE, 259, (byte) AERL);
        d.set(JAVA_BYTE, 260, (byte) 0x03);                   // FRMW: one slot, slot 1 read-only
        d.set(JAVA_BYTE, 261, (byte) 0x04);                   // LPA: extended data (offsets) for Get Log Page
        d.set(JAVA_BYTE, 262, (byte) (ModelLogs.ERROR_ENTRIES - 1)); // ELPE
        d.set(JAVA_SHORT_UNALIGNED, 266, (short) 343);        // WCTEMP, kelvin
        d.set(JAVA_SHORT_UNALIGNED, 268, (short) 358);        // CCTEMP
        d.set(JAVA_BYTE, 512, (byte) 0x66);                   // SQES: 64-byte entries
        d.set(JAVA_BYTE, 513, (byte) 0x44);                   // CQES: 16-byte entries
        d.set(JAVA_SHORT_UNALIGNED, 514, (short) 0);          // MAXCMD: not reported
        d.set(JAVA_INT_UNALIGNED, 516, 1);                    // NN
        d.set(JAVA_SHORT_UNALIGNED, 520, (short) ONCS);
        // VWC: a volatile write cache (bit 0); Flush with NSID FFFFFFFFh supported (bits 2:1 = 11b)
        d.set(JAVA_BYTE, 525, (byte) 0x07);
        nulPadded(d, 768, 256, "nqn.2026-11.io.ustor:model:" + o.serialNumber()); // SUBNQN
        d.set(JAVA_SHORT_UNALIGNED, 2048, (short) 2500);      // power state 0: 25 W
    }

    /** A UTF-8 string field, NUL padded (the page is zeroed). */
    static void nulPadded(MemorySegment d, long off, int len, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        MemorySegment.copy(b, 0, d, JAVA_BYTE, off, Math.min(b.length, len - 1));
    }

    /** An ASCII field, space padded (Identify text fields are not NUL terminated). */
    static void ascii(MemorySegment d, long off, int len, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < len; i++) {
            d.set(JAVA_BYTE, off + i, i < b.length ? b[i] : (byte) ' ');
        }
    }
}
