package io.ustor.env.pci;

import io.ustor.env.DmaMemory;
import io.ustor.env.Ioctl;
import io.ustor.env.IovaMode;
import io.ustor.env.Mman;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** A PCI function through VFIO: BARs mmap'ed from the device fd, config space by pread/pwrite on its region. */
public final class VfioPciDevice extends PciDevice {
    private static final int MAX_BARS = 6;

    private final VfioContainer container;
    private final int deviceFd;
    private final long configOffset;
    private final MemorySegment[] bars = new MemorySegment[MAX_BARS];
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(8, 8);
    private boolean closed;

    private VfioPciDevice(PciAddress address, VfioContainer container, int deviceFd) {
        super(address);
        this.container = container;
        this.deviceFd = deviceFd;
        this.configOffset = regionInfo(Vfio.PCI_CONFIG_REGION_INDEX)[1];
    }

    /** Opens the device, which must be bound to vfio-pci; {@code sysfs} finds its IOMMU group. */
    public static VfioPciDevice open(PciSysfs sysfs, PciAddress address) {
        PciDeviceInfo info = sysfs.read(address);
        if (info.iommuGroup() < 0) {
            throw new IllegalStateException("pci " + address + " has no IOMMU group: the IOMMU is off (boot with"
                    + " intel_iommu=on / amd_iommu=on) or absent; without one bind uio_pci_generic instead");
        }
        if (!"vfio-pci".equals(info.driver())) {
            throw new IllegalStateException("pci " + address + " is bound to " + (info.driver() == null ? "no driver" : info.driver())
                    + ", not vfio-pci: bind it with bin/ustor-setup");
        }
        VfioContainer c = VfioContainer.open(address, info.iommuGroup(), sysfs.iommuGroupMembers(info.iommuGroup()));
        try (Arena a = Arena.ofConfined()) {
            int fd = Ioctl.ioctl(c.groupFd(), Vfio.GROUP_GET_DEVICE_FD, a.allocateFrom(address.toString()));
            return new VfioPciDevice(address, c, fd);
        } catch (RuntimeException e) {
            c.close();
            throw new IllegalStateException("pci " + address + ": VFIO_GROUP_GET_DEVICE_FD failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String accessName() {
        return "vfio";
    }

    @Override
    public IovaMode iovaMode() {
        return IovaMode.VA;
    }

    /** {flags, offset, size} of a VFIO region. */
    private long[] regionInfo(int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ri = a.allocate(Vfio.REGION_INFO_SIZE, 8);
            ri.set(JAVA_INT, 0, Vfio.REGION_INFO_SIZE);
            ri.set(JAVA_INT, 8, index);
            Ioctl.ioctl(deviceFd, Vfio.DEVICE_GET_REGION_INFO, ri);
            return new long[]{ri.get(JAVA_INT, 4) & 0xffffffffL, ri.get(JAVA_LONG, 24), ri.get(JAVA_LONG, 16)};
        }
    }

    @Override
    public synchronized MemorySegment bar(int index) {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (bars[index] == null) {
            long[] ri = regionInfo(Vfio.PCI_BAR0_REGION_INDEX + index);
            if (ri[2] == 0) {
                throw new IllegalStateException(this + ": BAR" + index + " is not implemented");
            }
            if ((ri[0] & Vfio.REGION_INFO_FLAG_MMAP) == 0) {
                throw new IllegalStateException(this + ": BAR" + index + " cannot be mmap'ed (VFIO region flags 0x"
                        + Long.toHexString(ri[0]) + ")");
            }
            bars[index] = Mman.mmap(MemorySegment.NULL, ri[2], Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED,
                    deviceFd, ri[1], arena);
        }
        return bars[index];
    }

    @Override
    public synchronized int readConfig(int offset, int size) {
        Posix.preadFully(deviceFd, scratch.asSlice(0, size), configOffset + offset);
        return switch (size) {
            case 1 -> Byte.toUnsignedInt(scratch.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            case 2 -> Short.toUnsignedInt(scratch.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 0));
            case 4 -> scratch.get(JAVA_INT, 0);
            default -> throw new IllegalArgumentException("config access size " + size);
        };
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        switch (size) {
            case 1 -> scratch.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) value);
            case 2 -> scratch.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) value);
            case 4 -> scratch.set(JAVA_INT, 0, value);
            default -> throw new IllegalArgumentException("config access size " + size);
        }
        Posix.pwriteFully(deviceFd, scratch.asSlice(0, size), configOffset + offset);
    }

    @Override
    public void attachDma(DmaMemory memory) {
        container.attach(memory);
    }

    /** VFIO_DEVICE_RESET (function-level reset when the device has one); returns false when unsupported. */
    public boolean reset() {
        return Ioctl.ioctlRaw(deviceFd, Vfio.DEVICE_RESET, 0) == 0;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close();
        Posix.closeRaw(deviceFd);
        container.close();
    }
}
