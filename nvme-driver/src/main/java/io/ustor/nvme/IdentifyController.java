package io.ustor.nvme;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/** The fields of the Identify Controller data structure (CNS 01h) the driver uses. */
public record IdentifyController(int vendorId, int subsystemVendorId, String serialNumber, String modelNumber,
                                 String firmwareRevision, int mdts, int controllerId, int version, int oacs,
                                 int sqes, int cqes, int maxCmd, int namespaceCount, int oncs, int vwc,
                                 String subsystemNqn) {

    /** Parses the 4096-byte structure. */
    public static IdentifyController parse(MemorySegment d) {
        return new IdentifyController(u16(d, 0), u16(d, 2), text(d, 4, 20), text(d, 24, 40), text(d, 64, 8),
                u8(d, 77), u16(d, 78), d.get(JAVA_INT_UNALIGNED, 80), u16(d, 256), u8(d, 512), u8(d, 513),
                u16(d, 514), d.get(JAVA_INT_UNALIGNED, 516), u16(d, 520), u8(d, 525), text(d, 768, 256));
    }

    static int u8(MemorySegment d, long off) {
        return Byte.toUnsignedInt(d.get(JAVA_BYTE, off));
    }

    static int u16(MemorySegment d, long off) {
        return Short.toUnsignedInt(d.get(JAVA_SHORT_UNALIGNED, off));
    }

    /** An ASCII field, space or NUL padded. */
    static String text(MemorySegment d, long off, int len) {
        byte[] b = new byte[len];
        MemorySegment.copy(d, JAVA_BYTE, off, b, 0, len);
        int end = len;
        while (end > 0 && (b[end - 1] == ' ' || b[end - 1] == 0)) {
            end--;
        }
        return new String(b, 0, end, StandardCharsets.US_ASCII);
    }

    public boolean supportsCompare() {
        return (oncs & 1) != 0;
    }

    public boolean supportsDatasetManagement() {
        return (oncs & (1 << 2)) != 0;
    }

    public boolean supportsWriteZeroes() {
        return (oncs & (1 << 3)) != 0;
    }

    public boolean volatileWriteCache() {
        return (vwc & 1) != 0;
    }

    /** Maximum data transfer in bytes for a 4 KiB minimum page size; 0 = no limit. */
    public long maxTransferBytes() {
        return mdts == 0 ? 0 : (4096L << mdts);
    }

    /** "1.4.0". */
    public String versionString() {
        return (version >>> 16) + "." + ((version >>> 8) & 0xff) + "." + (version & 0xff);
    }
}
