package io.ustor.env.pci;

import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.env.EventFd;
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
    private static final System.Logger LOG = System.getLogger(VfioPciDevice.class.getName());
    private static final int MAX_BARS = 6;

    private final VfioContainer container;
    private final int deviceFd;
    private final long configOffset;
    private final MemorySegment[] bars = new MemorySegment[MAX_BARS];
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(8, 8);
    private boolean closed;
    /** Signalled by vfio-pci when it wants the device back (hot-unplug, unbind); null when it cannot notify. */
    private final EventFd request;
    /** Signalled by vfio-pci on an AER uncorrectable error; null when the device cannot report one. */
    private final EventFd error;
    private volatile boolean removalRequested, errorReported;

    private VfioPciDevice(PciAddress address, VfioContainer container, int deviceFd) {
        super(address);
        this.container = container;
        this.deviceFd = deviceFd;
        this.configOffset = regionInfo(Vfio.PCI_CONFIG_REGION_INDEX)[1];
        this.request = irqEventFd(Vfio.PCI_REQ_IRQ_INDEX, "device request");
        this.error = irqEventFd(Vfio.PCI_ERR_IRQ_INDEX, "error");
    }

    /**
     * An eventfd registered as the trigger of the VFIO interrupt {@code index} (VFIO_DEVICE_SET_IRQS, ACTION_TRIGGER,
     * DATA_EVENTFD), or null when the device or kernel does not offer it (then that notice never comes).
     */
    private EventFd irqEventFd(int index, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(Vfio.IRQ_INFO_SIZE, 4);
            info.set(JAVA_INT, 0, Vfio.IRQ_INFO_SIZE);
            info.set(JAVA_INT, 8, index);
            int rc = Ioctl.ioctlRaw(deviceFd, Vfio.DEVICE_GET_IRQ_INFO, info);
            if (rc < 0 || info.get(JAVA_INT, 12) < 1 || (info.get(JAVA_INT, 4) & Vfio.IRQ_INFO_EVENTFD) == 0) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: no VFIO {1} interrupt ({2})", this, what,
                        rc < 0 ? Errno.describe(-rc) : "count " + info.get(JAVA_INT, 12));
                return null;
            }
            EventFd fd = EventFd.create(true);
            MemorySegment set = a.allocate(Vfio.IRQ_SET_ONE_FD_SIZE, 4);
            set.set(JAVA_INT, 0, Vfio.IRQ_SET_ONE_FD_SIZE);
            set.set(JAVA_INT, 4, Vfio.IRQ_SET_DATA_EVENTFD | Vfio.IRQ_SET_ACTION_TRIGGER);
            set.set(JAVA_INT, 8, index);
            set.set(JAVA_INT, 12, 0);
            set.set(JAVA_INT, 16, 1);
            set.set(JAVA_INT, 20, fd.fd());
            rc = Ioctl.ioctlRaw(deviceFd, Vfio.DEVICE_SET_IRQS, set);
            if (rc < 0) {
                fd.close();
                LOG.log(System.Logger.Level.WARNING, "{0}: cannot register for the VFIO {1} interrupt: {2}", this, what,
                        Errno.describe(-rc));
                return null;
            }
            return fd;
        }
    }

    /** True when the kernel asked for the device back; then close it (see {@link PciDevice#removalRequested()}). */
    @Override
    public boolean removalRequested() {
        if (!removalRequested && request != null) {
            synchronized (this) {
                if (!closed && request.drain() > 0) {
                    removalRequested = true;
                    LOG.log(System.Logger.Level.WARNING, "{0}: the kernel asks for the device back (hot-unplug or unbind)", this);
                }
            }
        }
        return removalRequested;
    }

    @Override
    public boolean errorReported() {
        if (!errorReported && error != null) {
            synchronized (this) {
                if (!closed && error.drain() > 0) {
                    errorReported = true;
                    LOG.log(System.Logger.Level.ERROR, "{0}: the platform reports an uncorrectable error (AER)", this);
                }
            }
        }
        return errorReported;
    }

    /** Whether vfio-pci can tell us that it wants the device back (a device request interrupt is registered). */
    public boolean hasRemovalNotice() {
        return request != null;
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
        // closing the device fd drops its interrupt triggers and is what lets vfio-pci finish a removal
        Posix.closeRaw(deviceFd);
        if (request != null) {
            request.close();
        }
        if (error != null) {
            error.close();
        }
        container.close();
    }
}
