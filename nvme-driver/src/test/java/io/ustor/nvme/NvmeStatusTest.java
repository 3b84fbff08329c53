package io.ustor.nvme;

import io.ustor.env.Errno;
import io.ustor.nvme.internal.NvmeCommands;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NvmeStatusTest {
    @Test
    void decodesStatusFieldsToSpecNames() {
        // CQE dword 3 bits 31:17: DNR(14) M(13) CRD(12:11) SCT(10:8) SC(7:0); the driver keeps SCT and SC
        int field = (1 << 14) | (NvmeStatus.SCT_GENERIC << 8) | 0x80;
        int st = NvmeStatus.fromStatusField(field);
        assertEquals(0x80, st);
        assertEquals("LBA Out of Range (sct 0 sc 0x80)", NvmeStatus.name(st));
        assertEquals("Compare Failure (sct 2 sc 0x85)", NvmeStatus.name(NvmeStatus.COMPARE_FAILURE));
        assertEquals("Invalid Queue Size (sct 1 sc 0x2)", NvmeStatus.name((1 << 8) | 2));
        assertEquals("Invalid Field in Command (sct 0 sc 0x2)", NvmeStatus.name(2));
        assertEquals("Successful Completion", NvmeStatus.name(0));
        assertTrue(NvmeStatus.name(-Errno.ENODEV).startsWith("driver: ENODEV"), NvmeStatus.name(-Errno.ENODEV));
        assertTrue(NvmeStatus.name((7 << 8) | 0xc0).startsWith("Vendor Specific"));
        assertTrue(NvmeStatus.name(0x7f).startsWith("Unknown status"));
        assertTrue(new NvmeException("nvme Nvme0: identify", 0x0b).getMessage().endsWith("Invalid Namespace or Format (sct 0 sc 0xb)"));
    }

    @Test
    void encodesReadWriteCommand() {
        MemorySegment m = Arena.ofAuto().allocate(128, 64);
        m.fill((byte) 0xff);
        NvmeCommands.header(m, 64, NvmeCommands.NVM_WRITE, 0x1234, 1);
        NvmeCommands.prp(m, 64, 0x1000, 0x2000);
        NvmeCommands.lbaRange(m, 64, 0x1_0000_0002L, 8, NvmeCommands.RW_FUA);
        assertEquals(0x1234_0001, m.get(JAVA_INT, 64));
        assertEquals(1, m.get(JAVA_INT, 68));
        assertEquals(0, m.get(JAVA_LONG, 72)); // reserved dwords 2-3 cleared
        assertEquals(0, m.get(JAVA_LONG, 80)); // metadata pointer
        assertEquals(0x1000, m.get(JAVA_LONG, 88));
        assertEquals(0x2000, m.get(JAVA_LONG, 96));
        assertEquals(2, m.get(JAVA_INT, 104));  // SLBA low
        assertEquals(1, m.get(JAVA_INT, 108));  // SLBA high
        assertEquals(7 | (1 << 30), m.get(JAVA_INT, 112)); // 0-based NLB, FUA
        assertEquals(0, m.get(JAVA_INT, 116));
        assertEquals(-1, m.get(JAVA_INT, 0), "the entry before is untouched");
        assertEquals(NvmeCommands.NVM_WRITE, NvmeCommands.opcode(m, 64));
    }

    @Test
    void encodesDatasetManagementRange() {
        MemorySegment m = Arena.ofAuto().allocate(16, 8);
        NvmeCommands.dsmRange(m, 0, 4096, 128);
        assertEquals(0, m.get(JAVA_INT, 0));
        assertEquals(128, m.get(JAVA_INT, 4));
        assertEquals(4096, m.get(JAVA_LONG, 8));
    }

    @Test
    void parsesIdentifyStructures() {
        MemorySegment d = Arena.ofAuto().allocate(4096, 8);
        d.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) 0x1b36);
        byte[] sn = "SN123   ".getBytes();
        MemorySegment.copy(sn, 0, d, java.lang.foreign.ValueLayout.JAVA_BYTE, 4, sn.length);
        d.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 77, (byte) 7);
        d.set(JAVA_INT, 80, 0x00010400);
        d.set(JAVA_INT, 516, 256);
        d.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 520, (short) 0x0d);
        IdentifyController c = IdentifyController.parse(d);
        assertEquals(0x1b36, c.vendorId());
        assertEquals("SN123", c.serialNumber());
        assertEquals(4096L << 7, c.maxTransferBytes());
        assertEquals("1.4.0", c.versionString());
        assertEquals(256, c.namespaceCount());
        assertTrue(c.supportsCompare() && c.supportsWriteZeroes() && c.supportsDatasetManagement());

        MemorySegment n = Arena.ofAuto().allocate(4096, 8);
        n.set(JAVA_LONG, 0, 1000);
        n.set(JAVA_LONG, 8, 1000);
        n.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 26, (byte) 1); // FLBAS: format 1
        n.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 128 + 4 + 2, (byte) 12); // LBAF1: 4096
        n.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 128 + 2, (byte) 9);
        NvmeNamespace ns = NvmeNamespace.parse(3, n);
        assertEquals(4096, ns.blockSize());
        assertEquals(1000, ns.numBlocks());
        assertEquals(1, ns.lbaFormatIndex());
        n.set(JAVA_LONG, 0, 0);
        assertEquals(null, NvmeNamespace.parse(3, n));
    }
}
