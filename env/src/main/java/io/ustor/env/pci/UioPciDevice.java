package io.ustor.env.pci;

import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.env.IovaMode;
import io.ustor.env.Mman;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A PCI function without an IOMMU: BARs through sysfs {@code resourceN} files, config space through the sysfs
 * {@code config} file. The device is bound to uio_pci_generic (so no kernel driver touches it) and DMA uses
 * physical addresses, which needs DMA memory opened with {@link IovaMode#PA} (root).
 */
public final class UioPciDevice extends PciDevice {
    private static final int MAX_BARS = 6;

    private final Path dir;
    private final int configFd;
    private final MemorySegment[] bars = new MemorySegment[MAX_BARS];
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(8, 8);
    private boolean closed;
    private volatile boolean gone;

    private UioPciDevice(PciAddress address, Path dir, int configFd) {
        super(address);
        this.dir = dir;
        this.configFd = configFd;
    }

    /** Opens the device, which must be bound to uio_pci_generic (or, for diagnostics only, to no driver). */
    public static UioPciDevice open(PciSysfs sysfs, PciAddress address) {
        PciDeviceInfo info = sysfs.read(address);
        if (info.driver() != null && !info.driver().startsWith("uio")) {
            throw new IllegalStateException("pci " + address + " is bound to " + info.driver()
                    + ", not uio_pci_generic: a kernel driver owns it; bind it with bin/ustor-setup");
        }
        Path dir = sysfs.deviceDir(address);
        Path config = dir.resolve("config");
        try {
            return new UioPciDevice(address, dir, Posix.open(config.toString(), Posix.O_RDWR | Posix.O_CLOEXEC));
        } catch (NativeException e) {
            throw new IllegalStateException("pci " + address + ": cannot open " + config + " read-write (" + e.getMessage()
                    + "): run as root", e);
        }
    }

    @Override
    public String accessName() {
        return "uio";
    }

    @Override
    public IovaMode iovaMode() {
        return IovaMode.PA;
    }

    @Override
    public synchronized MemorySegment bar(int index) {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (bars[index] == null) {
            Path res = dir.resolve("resource" + index);
            if (!Files.exists(res)) {
                throw new IllegalStateException(this + ": " + res + " does not exist (BAR" + index + " not implemented or I/O space)");
            }
            int fd = Posix.open(res.toString(), Posix.O_RDWR | Posix.O_SYNC | Posix.O_CLOEXEC);
            try {
                long size = Posix.size(fd);
                bars[index] = Mman.mmap(MemorySegment.NULL, size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0, arena);
            } finally {
                Posix.closeRaw(fd);
            }
        }
        return bars[index];
    }

    @Override
    public synchronized int readConfig(int offset, int size) {
        Posix.preadFully(configFd, scratch.asSlice(0, size), offset);
        return switch (size) {
            case 1 -> Byte.toUnsignedInt(scratch.get(ValueLayout.JAVA_BYTE, 0));
            case 2 -> Short.toUnsignedInt(scratch.get(ValueLayout.JAVA_SHORT, 0));
            case 4 -> scratch.get(JAVA_INT, 0);
            default -> throw new IllegalArgumentException("config access size " + size);
        };
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        switch (size) {
            case 1 -> scratch.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
            case 2 -> scratch.set(ValueLayout.JAVA_SHORT, 0, (short) value);
            case 4 -> scratch.set(JAVA_INT, 0, value);
            default -> throw new IllegalArgumentException("config access size " + size);
        }
        Posix.pwriteFully(configFd, scratch.asSlice(0, size), offset);
    }

    /**
     * UIO has no removal notice: the kernel removes the device from under us (a hot-unplug unbinds
     * uio_pci_generic and deletes the device, then the slot powers off, after which BAR reads may return anything:
     * all ones on real PCIe, zeroes under QEMU). So this looks whether the device is still there: its config space
     * must still read (a removed device's sysfs file fails with ENODEV) and its vendor ID must not be 0xFFFF.
     * One pread, allocation-free.
     */
    @Override
    public boolean removalRequested() {
        if (gone) {
            return true;
        }
        synchronized (this) {
            if (closed) {
                return gone;
            }
            long n = Posix.preadRaw(configFd, scratch, 2, CFG_VENDOR_ID);
            if ((n < 0 && n != -Errno.EINTR) || (n == 2 && Short.toUnsignedInt(scratch.get(ValueLayout.JAVA_SHORT, 0)) == 0xffff)) {
                gone = true;
            }
        }
        return gone;
    }

    @Override
    public void attachDma(DmaMemory memory) {
        if (memory.iovaMode() != IovaMode.PA) {
            throw new IllegalStateException(this + ": without an IOMMU the device needs physical addresses; open the DMA"
                    + " memory with IovaMode.PA (as root), or bind the device to vfio-pci with the IOMMU on");
        }
        memory.requireDmaCapable(toString());
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close();
        Posix.closeRaw(configFd);
    }
}
