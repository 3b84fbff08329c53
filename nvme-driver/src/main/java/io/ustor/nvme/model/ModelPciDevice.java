package io.ustor.nvme.model;

import io.ustor.env.DmaMemory;
import io.ustor.env.IovaMode;
import io.ustor.env.pci.PciAddress;
import io.ustor.env.pci.PciDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The PCI face of a {@link NvmeControllerModel}: BAR0 is ordinary process memory holding the controller registers
 * (the model reads what the driver writes there and answers in CSTS and the queues), config space is a 256-byte
 * array with the NVMe class code, and DMA uses IOVA = VA into the {@link DmaMemory} given to {@link #attachDma}.
 * After {@link NvmeControllerModel#remove()} every BAR and config read returns all ones, as for a surprise-removed
 * function. Closing the device closes its model.
 */
public final class ModelPciDevice extends PciDevice {
    /** BAR0 size: registers (4 KiB) and one page of doorbells (DSTRD 0: 512 queue pairs). */
    static final int BAR0_SIZE = 8192;
    /** Made-up PCI IDs of the model (not assigned to a real device). */
    public static final int VENDOR_ID = 0x5553, DEVICE_ID = 0x0001;

    private final NvmeControllerModel model;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment bar0;
    private final byte[] config = new byte[256];
    private volatile boolean removed;
    private volatile boolean removalRequested;
    /** Command register bit 2, cached for the engine's per-step check. */
    private volatile boolean busMaster;
    private boolean closed;

    ModelPciDevice(PciAddress address, NvmeControllerModel model) {
        super(address);
        this.model = model;
        this.bar0 = arena.allocate(BAR0_SIZE, 4096);
        putConfig(CFG_VENDOR_ID, 2, VENDOR_ID);
        putConfig(0x02, 2, DEVICE_ID);
        putConfig(0x08, 4, 0x01080200); // class 01h (mass storage), subclass 08h (NVM), prog-if 02h (NVMe), revision 0
        putConfig(0x0e, 1, 0);          // header type 0
    }

    /** The model behind this device. */
    public NvmeControllerModel model() {
        return model;
    }

    @Override
    public String accessName() {
        return "model";
    }

    @Override
    public IovaMode iovaMode() {
        return IovaMode.VA;
    }

    @Override
    public MemorySegment bar(int index) {
        if (index != 0) {
            throw new IllegalArgumentException(this + ": only BAR0 is implemented (asked for BAR" + index + ")");
        }
        return bar0;
    }

    @Override
    public synchronized int readConfig(int offset, int size) {
        checkConfig(offset, size);
        if (removed) {
            return size == 4 ? -1 : (1 << (8 * size)) - 1;
        }
        int v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = (v << 8) | (config[offset + i] & 0xff);
        }
        return v;
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        checkConfig(offset, size);
        if (removed) {
            return;
        }
        // only the command register is writable; the rest of the header is read-only here
        if (offset == CFG_COMMAND && size == 2) {
            putConfig(offset, size, value & 0x0547);
            busMaster = (value & CMD_BUS_MASTER) != 0;
        }
    }

    /** Whether bus mastering is enabled (config command register bit 2): without it the model does no DMA. */
    public boolean busMasterEnabled() {
        return busMaster && !removed;
    }

    /** Set by {@link NvmeControllerModel#requestRemoval()}: the "kernel" wants the device back (VFIO device request). */
    @Override
    public boolean removalRequested() {
        return removalRequested;
    }

    void requestRemoval() {
        removalRequested = true;
    }

    @Override
    public void attachDma(DmaMemory memory) {
        if (memory.iovaMode() != IovaMode.VA) {
            throw new IllegalStateException(this + ": the model addresses DMA memory by virtual address; "
                    + memory + " uses " + memory.iovaMode());
        }
        model.host().attach(memory);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        model.close();
    }

    /** Fills BAR0 and config space with ones and keeps them so (surprise removal). Called by the model's engine. */
    void markRemoved() {
        removed = true;
        bar0.fill((byte) 0xff);
    }

    boolean isRemoved() {
        return removed;
    }

    /** Frees BAR0 (the model is stopped). */
    void freeBar() {
        arena.close();
    }

    private void putConfig(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            config[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    private static void checkConfig(int offset, int size) {
        if ((size != 1 && size != 2 && size != 4) || offset < 0 || offset + size > 256) {
            throw new IllegalArgumentException("config access of " + size + " bytes at " + offset);
        }
    }
}
