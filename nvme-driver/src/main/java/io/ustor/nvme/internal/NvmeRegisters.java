package io.ustor.nvme.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The controller registers in BAR0 (NVMe base spec, "Controller Registers"), read and written as 32-bit volatile
 * accesses; 64-bit registers as two 32-bit halves, low first. Doorbells are release stores: every submission entry
 * written before is visible to the device before the doorbell (on x86 the store order itself guarantees it).
 */
public final class NvmeRegisters {
    public static final int CAP = 0x00, VS = 0x08, INTMS = 0x0c, INTMC = 0x10, CC = 0x14, CSTS = 0x1c, NSSR = 0x20,
            AQA = 0x24, ASQ = 0x28, ACQ = 0x30, DOORBELLS = 0x1000;

    public static final int CC_EN = 1, CC_CSS_NVM = 0, CC_SHN_NORMAL = 1 << 14, CC_SHN_MASK = 3 << 14;
    public static final int CSTS_RDY = 1, CSTS_CFS = 2, CSTS_SHST_MASK = 3 << 2, CSTS_SHST_COMPLETE = 2 << 2;

    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MemorySegment bar;
    private final int doorbellStride;

    public NvmeRegisters(MemorySegment bar) {
        this.bar = bar;
        this.doorbellStride = 4 << (int) ((read64(CAP) >>> 32) & 0xf);
    }

    public int read32(long offset) {
        return (int) INT.getVolatile(bar, offset);
    }

    public void write32(long offset, int value) {
        INT.setVolatile(bar, offset, value);
    }

    public long read64(long offset) {
        long lo = read32(offset) & 0xffffffffL;
        long hi = read32(offset + 4) & 0xffffffffL;
        return lo | (hi << 32);
    }

    public void write64(long offset, long value) {
        write32(offset, (int) value);
        write32(offset + 4, (int) (value >>> 32));
    }

    /** Offset of submission queue {@code qid}'s tail doorbell. */
    public long sqTailDoorbell(int qid) {
        return DOORBELLS + (long) (2 * qid) * doorbellStride;
    }

    /** Offset of completion queue {@code qid}'s head doorbell. */
    public long cqHeadDoorbell(int qid) {
        return DOORBELLS + (long) (2 * qid + 1) * doorbellStride;
    }

    /** A doorbell write: release store, after the queue memory it publishes. */
    public void ring(long doorbell, int value) {
        INT.setRelease(bar, doorbell, value);
    }

    public MemorySegment bar() {
        return bar;
    }
}
