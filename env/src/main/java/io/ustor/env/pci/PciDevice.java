package io.ustor.env.pci;

import io.ustor.env.DmaMemory;
import io.ustor.env.IovaMode;

import java.lang.foreign.MemorySegment;

/**
 * A PCI function opened from user space: its BARs mapped as memory, its config space, and DMA set up for a
 * {@link DmaMemory}. Control plane; register access on the mapped BAR is the driver's business.
 */
public abstract class PciDevice implements AutoCloseable {
    /** Config space offsets and bits (PCI local bus spec). */
    public static final int CFG_VENDOR_ID = 0x00, CFG_COMMAND = 0x04, CFG_STATUS = 0x06,
            CMD_MEMORY_SPACE = 0x2, CMD_BUS_MASTER = 0x4, CMD_INTX_DISABLE = 0x400;

    protected final PciAddress address;

    protected PciDevice(PciAddress address) {
        this.address = address;
    }

    public final PciAddress address() {
        return address;
    }

    /** "vfio" or "uio". */
    public abstract String accessName();

    /** How the device addresses DMA memory: VA (IOMMU mapped by us) or PA (physical, no IOMMU). */
    public abstract IovaMode iovaMode();

    /** BAR {@code index} mapped read-write; mapped once and kept until {@link #close()}. */
    public abstract MemorySegment bar(int index);

    /** Reads {@code size} (1, 2 or 4) bytes of config space, little-endian. */
    public abstract int readConfig(int offset, int size);

    /** Writes {@code size} (1, 2 or 4) bytes of config space. */
    public abstract void writeConfig(int offset, int size, int value);

    /**
     * Lets the device reach {@code memory}: under VFIO every region (present and future) is mapped into the IOMMU at
     * IOVA = VA; under UIO the memory must use physical addresses. Fails explaining why when it cannot.
     */
    public abstract void attachDma(DmaMemory memory);

    /** Sets memory space enable and bus master enable in the command register (and disables INTx: we poll). */
    public void enableBusMastering() {
        int cmd = readConfig(CFG_COMMAND, 2);
        writeConfig(CFG_COMMAND, 2, cmd | CMD_MEMORY_SPACE | CMD_BUS_MASTER | CMD_INTX_DISABLE);
    }

    /** Clears bus master enable: the device stops DMA. */
    public void disableBusMastering() {
        int cmd = readConfig(CFG_COMMAND, 2);
        writeConfig(CFG_COMMAND, 2, cmd & ~CMD_BUS_MASTER);
    }

    /**
     * Whether the kernel asked for the device back (VFIO's device request: hot-unplug, or an unbind from vfio-pci).
     * The driver must then stop submitting, fail what is outstanding and {@link #close()} the device: the kernel
     * waits for that before the removal completes. Under UIO there is no such notice: true once the device is gone
     * from the kernel (its config space no longer reads). Sticky once true. Control plane or a timed poller: at most
     * one non-blocking system call.
     */
    public boolean removalRequested() {
        return false;
    }

    /**
     * Whether the platform reported an uncorrectable error for the device (VFIO's error interrupt, from PCIe AER).
     * Sticky once true; same cost and threads as {@link #removalRequested()}.
     */
    public boolean errorReported() {
        return false;
    }

    /** Unmaps the BARs, removes DMA mappings and closes descriptors. Idempotent. */
    @Override
    public abstract void close();

    @Override
    public String toString() {
        return "pci " + address + " (" + accessName() + ")";
    }
}
