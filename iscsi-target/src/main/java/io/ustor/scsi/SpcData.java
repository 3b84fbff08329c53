package io.ustor.scsi;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static io.ustor.scsi.Bytes.ascii;
import static io.ustor.scsi.Bytes.u16;
import static io.ustor.scsi.Bytes.u32;
import static io.ustor.scsi.Bytes.u64;
import static io.ustor.scsi.Bytes.u8;
import static io.ustor.scsi.Bytes.zero;

/**
 * Parameter data of the SPC/SBC informational commands: INQUIRY (standard and VPD pages), READ CAPACITY, mode
 * pages. Each writer fills {@code out} from offset 0 and returns the full length of the data (the caller truncates
 * to the allocation length).
 */
final class SpcData {
    static final String VENDOR = "USTOR";
    static final String REVISION = "0001";

    /** VPD pages we support, ascending. */
    static final int[] VPD_PAGES = {0x00, 0x80, 0x83, 0x86, 0x8f, 0xb0, 0xb1, 0xb2};

    private SpcData() {
    }

    /** Standard INQUIRY data (SPC-4 6.6.2), 96 bytes with version descriptors. */
    static int standardInquiry(MemorySegment out, ScsiLun lun) {
        zero(out, 0, 96);
        u8(out, 0, 0x00);           // peripheral qualifier 0, device type 0 (direct access block)
        u8(out, 1, lun.removable() ? 0x80 : 0x00); // RMB
        u8(out, 2, 0x06);           // SPC-4
        u8(out, 3, 0x10 | 0x02);    // HISUP, response data format 2
        u8(out, 4, 96 - 5);
        u8(out, 5, 0x08);           // 3PC: EXTENDED COPY (LID1) between LUs of the target; no PROTECT
        u8(out, 6, 0x00);
        u8(out, 7, 0x02);           // CMDQUE
        ascii(out, 8, VENDOR, 8);
        ascii(out, 16, lun.bdev().productName(), 16);
        ascii(out, 32, REVISION, 4);
        // Version descriptors (SPC-4 table 32): SAM-5, iSCSI (no version), SPC-4, SBC-3.
        u16(out, 58, 0x00a0);
        u16(out, 60, 0x0960);
        u16(out, 62, 0x0460);
        u16(out, 64, 0x04c0);
        return 96;
    }

    /** A VPD page, or -1 if not supported. */
    static int vpd(MemorySegment out, int page, ScsiLun lun, ScsiNexus nexus) {
        return switch (page) {
            case 0x00 -> supportedPages(out);
            case 0x80 -> unitSerial(out, lun);
            case 0x83 -> deviceIdentification(out, lun, nexus);
            case 0x86 -> extendedInquiry(out);
            case 0x8f -> thirdPartyCopy(out, lun);
            case 0xb0 -> blockLimits(out, lun);
            case 0xb1 -> blockDeviceCharacteristics(out);
            case 0xb2 -> logicalBlockProvisioning(out, lun);
            default -> -1;
        };
    }

    private static int supportedPages(MemorySegment out) {
        zero(out, 0, 4);
        u16(out, 2, VPD_PAGES.length);
        for (int i = 0; i < VPD_PAGES.length; i++) {
            u8(out, 4 + i, VPD_PAGES[i]);
        }
        return 4 + VPD_PAGES.length;
    }

    private static int unitSerial(MemorySegment out, ScsiLun lun) {
        byte[] s = lun.serial().getBytes(StandardCharsets.US_ASCII);
        zero(out, 0, 4);
        u8(out, 1, 0x80);
        u16(out, 2, s.length);
        Bytes.bytes(out, 4, s);
        return 4 + s.length;
    }

    private static int deviceIdentification(MemorySegment out, ScsiLun lun, ScsiNexus nexus) {
        zero(out, 0, 4);
        u8(out, 1, 0x83);
        int off = 4;
        // NAA IEEE Registered Extended, associated with the LU, binary.
        u8(out, off, 0x01);          // protocol 0, code set binary
        u8(out, off + 1, 0x03);      // PIV 0, association LU, type NAA
        u8(out, off + 2, 0);
        u8(out, off + 3, 16);
        Bytes.bytes(out, off + 4, lun.naa());
        off += 20;
        // T10 vendor ID: vendor + serial, ASCII.
        byte[] serial = lun.serial().getBytes(StandardCharsets.US_ASCII);
        u8(out, off, 0x02);
        u8(out, off + 1, 0x01);
        u8(out, off + 2, 0);
        u8(out, off + 3, 8 + serial.length);
        ascii(out, off + 4, VENDOR, 8);
        Bytes.bytes(out, off + 12, serial);
        off += 4 + 8 + serial.length;
        if (nexus != null) {
            // Relative target port identifier (association target port, iSCSI).
            u8(out, off, 0x51);      // protocol iSCSI (5), code set binary
            u8(out, off + 1, 0x94);  // PIV, association target port (01b), type 4
            u8(out, off + 2, 0);
            u8(out, off + 3, 4);
            u32(out, off + 4, nexus.relativeTargetPortId() & 0xffff);
            off += 8;
            // SCSI name string of the target port ("iqn...,t,0x0001"), UTF-8, NUL-padded to a multiple of 4.
            off = scsiName(out, off, 0x98, nexus.targetPort());
            // SCSI name string of the target device.
            String port = nexus.targetPort();
            int comma = port.indexOf(",t,");
            off = scsiName(out, off, 0xa8, comma > 0 ? port.substring(0, comma) : port);
        }
        u16(out, 2, off - 4);
        return off;
    }

    private static int scsiName(MemorySegment out, int off, int assocType, String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        int len = (b.length + 1 + 3) & ~3;
        u8(out, off, 0x53);          // protocol iSCSI, code set UTF-8
        u8(out, off + 1, assocType);
        u8(out, off + 2, 0);
        u8(out, off + 3, len);
        zero(out, off + 4, len);
        Bytes.bytes(out, off + 4, b);
        return off + 4 + len;
    }

    private static int extendedInquiry(MemorySegment out) {
        zero(out, 0, 64);
        u8(out, 1, 0x86);
        u16(out, 2, 60);
        u8(out, 5, 0x07);            // HEADSUP, ORDSUP, SIMPSUP
        u8(out, 6, 0x00);
        return 64;
    }

    /**
     * Third-party Copy VPD page (SPC-4 7.8.17) for the EXTENDED COPY (LID1) copy manager: Supported Commands,
     * Parameter Data, Supported Descriptors and General Copy Operations descriptors, each padded to 4 bytes.
     */
    private static int thirdPartyCopy(MemorySegment out, ScsiLun lun) {
        zero(out, 0, 128);
        u8(out, 1, 0x8f);
        int off = 4;
        // 0001h Supported Commands: EXTENDED COPY (SA 00h), RECEIVE COPY RESULTS (SAs 00h, 01h, 03h, 04h).
        u16(out, off, 0x0001);
        u16(out, off + 2, 12);
        u8(out, off + 4, 9);
        u8(out, off + 5, Cdb.EXTENDED_COPY);
        u8(out, off + 6, 1);
        u8(out, off + 7, 0x00);
        u8(out, off + 8, Cdb.RECEIVE_COPY_RESULTS);
        u8(out, off + 9, 4);
        u8(out, off + 10, CopyResults.SA_COPY_STATUS);
        u8(out, off + 11, CopyResults.SA_RECEIVE_DATA);
        u8(out, off + 12, CopyResults.SA_OPERATING_PARAMETERS);
        u8(out, off + 13, CopyResults.SA_FAILED_SEGMENT_DETAILS);
        off += 16;
        // 0004h Parameter Data: the limits RECEIVE COPY RESULTS (OPERATING PARAMETERS) reports.
        u16(out, off, 0x0004);
        u16(out, off + 2, 0x1c);
        u16(out, off + 8, ExtendedCopy.MAX_TARGET_DESCRIPTORS);
        u16(out, off + 10, ExtendedCopy.MAX_SEGMENT_DESCRIPTORS);
        u32(out, off + 12, ExtendedCopy.MAX_DESCRIPTOR_LIST_LENGTH);
        u32(out, off + 16, 0);       // no inline data
        off += 32;
        // 0008h Supported Descriptors: block-to-block segments, identification target descriptors.
        u16(out, off, 0x0008);
        u16(out, off + 2, 4);
        u8(out, off + 4, 2);
        u8(out, off + 5, ExtendedCopy.SEGMENT_BLOCK_TO_BLOCK);
        u8(out, off + 6, ExtendedCopy.TARGET_IDENTIFICATION);
        off += 8;
        // 8001h General Copy Operations.
        u16(out, off, 0x8001);
        u16(out, off + 2, 0x20);
        u32(out, off + 4, CopyResults.MAX_LISTS);
        u32(out, off + 8, CopyResults.MAX_LISTS);
        u32(out, off + 12, 0xffffL * lun.blockSize());
        u8(out, off + 16, Integer.numberOfTrailingZeros(lun.blockSize()));
        off += 36;
        u16(out, 2, off - 4);
        return off;
    }

    private static int blockLimits(MemorySegment out, ScsiLun lun) {
        zero(out, 0, 64);
        u8(out, 1, 0xb0);
        u16(out, 2, 0x3c);
        u8(out, 4, 0);               // WSNZ 0: WRITE SAME with 0 blocks means "to the end"
        u8(out, 5, ScsiLun.MAX_COMPARE_AND_WRITE_BLOCKS);
        int bs = lun.blockSize();
        int boundary = lun.bdev().optimalIoBoundaryBlocks();
        u16(out, 6, 1 << lbppbExponent(lun)); // optimal transfer length granularity
        u32(out, 8, lun.maxTransferBlocks());
        u32(out, 12, boundary > 0 ? Math.min(boundary, lun.optimalTransferBlocks()) : lun.optimalTransferBlocks());
        u32(out, 16, lun.maxTransferBlocks()); // maximum prefetch length
        if (lun.thinProvisioned()) {
            u32(out, 20, 0xffffffffL); // maximum unmap LBA count: no limit
            u32(out, 24, ScsiLun.MAX_UNMAP_DESCRIPTORS);
            u32(out, 28, 1 << lbppbExponent(lun)); // optimal unmap granularity: a physical block
        }
        u64(out, 36, 0);             // maximum write same length: no limit
        u32(out, 44, lun.maxTransferBlocks()); // maximum atomic transfer length: any single write is atomic
        u32(out, 48, 0);             // atomic alignment: none
        u32(out, 52, 0);             // atomic transfer length granularity: none
        return 64;
    }

    private static int blockDeviceCharacteristics(MemorySegment out) {
        zero(out, 0, 64);
        u8(out, 1, 0xb1);
        u16(out, 2, 0x3c);
        u16(out, 4, 1);              // non-rotating medium
        // WABEREQ 01b, WACEREQ 01b: reads after a sanitize BLOCK ERASE / CRYPTOGRAPHIC ERASE complete normally.
        u8(out, 7, 0x40 | 0x10);
        return 64;
    }

    private static int logicalBlockProvisioning(MemorySegment out, ScsiLun lun) {
        zero(out, 0, 8);
        u8(out, 1, 0xb2);
        u16(out, 2, 4);
        if (lun.thinProvisioned()) {
            u8(out, 5, 0x80 | 0x40 | 0x20 | 0x04); // LBPU, LBPWS, LBPWS10, LBPRZ
            u8(out, 6, 0x02);        // thin provisioned
        }
        return 8;
    }

    static int readCapacity10(MemorySegment out, ScsiLun lun) {
        long last = lun.numBlocks() - 1;
        u32(out, 0, last > 0xfffffffeL ? 0xffffffffL : last);
        u32(out, 4, lun.blockSize());
        return 8;
    }

    /**
     * Logical blocks per physical block exponent, from the bdev's physical block size (a malloc bdev created with
     * physical_block_size); 0 for the rest. Unmap and GET LBA STATUS still work per logical block.
     */
    static int lbppbExponent(ScsiLun lun) {
        int bs = lun.blockSize(), pbs = lun.bdev().physicalBlockSize();
        if (pbs <= bs || pbs % bs != 0 || Integer.bitCount(pbs / bs) != 1) {
            return 0;
        }
        return Integer.numberOfTrailingZeros(pbs / bs);
    }

    static int readCapacity16(MemorySegment out, ScsiLun lun) {
        zero(out, 0, 32);
        u64(out, 0, lun.numBlocks() - 1);
        u32(out, 8, lun.blockSize());
        u8(out, 13, lbppbExponent(lun)); // logical blocks per physical block exponent
        if (lun.thinProvisioned()) {
            u8(out, 14, 0x80 | 0x40); // LBPME, LBPRZ
        }
        return 32;
    }

    // ---- mode pages ----

    static final int PAGE_RW_ERROR_RECOVERY = 0x01, PAGE_CACHING = 0x08, PAGE_CONTROL = 0x0a,
            PAGE_POWER_CONDITION = 0x1a, PAGE_INFORMATIONAL_EXCEPTIONS = 0x1c, PAGE_ALL = 0x3f;

    /** Page control values. */
    static final int PC_CURRENT = 0, PC_CHANGEABLE = 1, PC_DEFAULT = 2;

    /** Writes one mode page at {@code off}; returns its length, or -1 for a page we do not have. */
    static int modePage(MemorySegment out, int off, int page, int pc, ScsiLun lun) {
        switch (page) {
            case PAGE_RW_ERROR_RECOVERY -> {
                zero(out, off, 12);
                u8(out, off, page);
                u8(out, off + 1, 10);
                if (pc != PC_CHANGEABLE) {
                    u8(out, off + 2, 0xc0); // AWRE, ARRE
                }
                return 12;
            }
            case PAGE_CACHING -> {
                zero(out, off, 20);
                u8(out, off, page);
                u8(out, off + 1, 18);
                if (pc != PC_CHANGEABLE && lun.bdev().writeCache()) {
                    u8(out, off + 2, 0x04); // WCE
                }
                return 20;
            }
            case PAGE_CONTROL -> {
                zero(out, off, 12);
                u8(out, off, page);
                u8(out, off + 1, 10);
                if (pc == PC_CHANGEABLE) {
                    u8(out, off + 2, 0x04);  // D_SENSE
                    u8(out, off + 4, 0x08);  // SWP
                } else {
                    u8(out, off + 2, pc == PC_CURRENT && lun.descriptorSense ? 0x04 : 0);
                    u8(out, off + 3, 0x10);  // queue algorithm modifier 1: unrestricted reordering
                    u8(out, off + 4, pc == PC_CURRENT && lun.softwareWriteProtect ? 0x08 : 0);
                    u16(out, off + 8, 0xffff); // busy timeout: unlimited
                }
                return 12;
            }
            case PAGE_POWER_CONDITION -> {
                zero(out, off, 40);
                u8(out, off, page);
                u8(out, off + 1, 38);
                return 40;
            }
            case PAGE_INFORMATIONAL_EXCEPTIONS -> {
                zero(out, off, 12);
                u8(out, off, page);
                u8(out, off + 1, 10);
                return 12;
            }
            default -> {
                return -1;
            }
        }
    }

    static final int[] MODE_PAGES = {PAGE_RW_ERROR_RECOVERY, PAGE_CACHING, PAGE_CONTROL, PAGE_POWER_CONDITION,
            PAGE_INFORMATIONAL_EXCEPTIONS};
}
