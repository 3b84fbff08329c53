package io.ustor.env.pci;

import io.ustor.env.DmaMemory;
import io.ustor.env.DmaRegion;
import io.ustor.env.DmaRegionListener;
import io.ustor.env.Errno;
import io.ustor.env.Ioctl;
import io.ustor.env.IovaMode;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A VFIO container with one IOMMU group and the type1 IOMMU, mapping every region of a {@link DmaMemory} at
 * IOVA = VA as the memory reports it ({@link DmaRegionListener}), and unmapping them on close.
 */
final class VfioContainer implements DmaRegionListener, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VfioContainer.class.getName());

    private final String name;
    private final int containerFd;
    private final int groupFd;
    private final List<DmaRegion> mapped = new ArrayList<>();
    private DmaMemory memory;
    /** Usable IOVA ranges [start, end] from the IOMMU, or null when the kernel does not report them. */
    private long[] iovaRanges;

    private VfioContainer(String name, int containerFd, int groupFd) {
        this.name = name;
        this.containerFd = containerFd;
        this.groupFd = groupFd;
    }

    /** Opens /dev/vfio/vfio and /dev/vfio/{group}, checks viability, sets the type1 IOMMU. */
    static VfioContainer open(PciAddress device, int group, List<PciAddress> groupMembers) {
        String name = "vfio group " + group + " (" + device + ")";
        int container;
        try {
            container = Posix.open("/dev/vfio/vfio", Posix.O_RDWR | Posix.O_CLOEXEC);
        } catch (NativeException e) {
            throw new IllegalStateException(name + ": cannot open /dev/vfio/vfio (" + e.getMessage()
                    + "): load the vfio-pci module (modprobe vfio-pci) and run as root", e);
        }
        int groupFd = -1;
        try {
            int api = Ioctl.ioctl(container, Vfio.GET_API_VERSION, 0);
            if (api != Vfio.API_VERSION) {
                throw new IllegalStateException(name + ": unknown VFIO API version " + api);
            }
            if (Ioctl.ioctlRaw(container, Vfio.CHECK_EXTENSION, Vfio.TYPE1v2_IOMMU) <= 0) {
                throw new IllegalStateException(name + ": the kernel has no VFIO type1v2 IOMMU (vfio_iommu_type1 module);"
                        + " without an IOMMU use uio_pci_generic instead");
            }
            String path = "/dev/vfio/" + group;
            try {
                groupFd = Posix.open(path, Posix.O_RDWR | Posix.O_CLOEXEC);
            } catch (NativeException e) {
                String why = e.errno() == Errno.EBUSY ? "another process has the group open (another driver instance?)"
                        : e.errno() == Errno.ENOENT ? "the device is not bound to vfio-pci (bin/ustor-setup binds it)"
                        : e.getMessage();
                throw new IllegalStateException(name + ": cannot open " + path + ": " + why, e);
            }
            try (Arena a = Arena.ofConfined()) {
                MemorySegment st = a.allocate(Vfio.GROUP_STATUS_SIZE, 4);
                st.set(JAVA_INT, 0, Vfio.GROUP_STATUS_SIZE);
                Ioctl.ioctl(groupFd, Vfio.GROUP_GET_STATUS, st);
                if ((st.get(JAVA_INT, 4) & Vfio.GROUP_FLAGS_VIABLE) == 0) {
                    throw new IllegalStateException(name + " is not viable: every device in the group " + groupMembers
                            + " must be bound to vfio-pci or to no driver");
                }
                MemorySegment fd = a.allocate(JAVA_INT);
                fd.set(JAVA_INT, 0, container);
                Ioctl.ioctl(groupFd, Vfio.GROUP_SET_CONTAINER, fd);
            }
            Ioctl.ioctl(container, Vfio.SET_IOMMU, Vfio.TYPE1v2_IOMMU);
            VfioContainer c = new VfioContainer(name, container, groupFd);
            c.iovaRanges = c.readIovaRanges();
            return c;
        } catch (RuntimeException e) {
            if (groupFd >= 0) {
                Posix.closeRaw(groupFd);
            }
            Posix.closeRaw(container);
            throw e;
        }
    }

    int groupFd() {
        return groupFd;
    }

    /** Maps every region of {@code m} now and as it grows. */
    void attach(DmaMemory m) {
        if (m.iovaMode() != IovaMode.VA) {
            throw new IllegalStateException(name + ": DMA memory uses IOVA mode " + m.iovaMode()
                    + "; VFIO maps IOVA = VA (open the memory with IovaMode.VA)");
        }
        m.requireDmaCapable(name);
        synchronized (this) {
            if (memory != null) {
                if (memory == m) {
                    return;
                }
                throw new IllegalStateException(name + " is already attached to " + memory);
            }
            memory = m;
        }
        m.addRegionListener(this);
    }

    @Override
    public synchronized void regionAdded(DmaRegion region) {
        if (!region.dmaCapable()) {
            throw new IllegalStateException(name + ": region " + region + " is not DMA-capable (not huge pages)");
        }
        long iova = region.iova();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment map = a.allocate(Vfio.DMA_MAP_SIZE, 8);
            map.set(JAVA_INT, 0, Vfio.DMA_MAP_SIZE);
            map.set(JAVA_INT, 4, Vfio.DMA_MAP_FLAG_READ | Vfio.DMA_MAP_FLAG_WRITE);
            map.set(JAVA_LONG, 8, region.vaddr());
            map.set(JAVA_LONG, 16, iova);
            map.set(JAVA_LONG, 24, region.size());
            int rc = Ioctl.ioctlRaw(containerFd, Vfio.IOMMU_MAP_DMA, map);
            if (rc < 0) {
                throw new IllegalStateException(name + ": VFIO_IOMMU_MAP_DMA of " + region + " failed: "
                        + Errno.describe(-rc) + explainMapFailure(iova, region.size()));
            }
        }
        mapped.add(region);
        LOG.log(System.Logger.Level.DEBUG, "{0}: mapped {1}", name, region);
    }

    @Override
    public synchronized void regionRemoved(DmaRegion region) {
        if (mapped.remove(region)) {
            unmap(region);
        }
    }

    private void unmap(DmaRegion region) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment um = a.allocate(Vfio.DMA_UNMAP_SIZE, 8);
            um.set(JAVA_INT, 0, Vfio.DMA_UNMAP_SIZE);
            um.set(JAVA_LONG, 8, region.iova());
            um.set(JAVA_LONG, 16, region.size());
            int rc = Ioctl.ioctlRaw(containerFd, Vfio.IOMMU_UNMAP_DMA, um);
            if (rc < 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: VFIO_IOMMU_UNMAP_DMA of {1} failed: {2}", name, region, Errno.describe(-rc));
            }
        }
    }

    private String explainMapFailure(long iova, long size) {
        if (iovaRanges == null) {
            return "";
        }
        for (int i = 0; i < iovaRanges.length; i += 2) {
            if (Long.compareUnsigned(iova, iovaRanges[i]) >= 0 && Long.compareUnsigned(iova + size - 1, iovaRanges[i + 1]) <= 0) {
                return "";
            }
        }
        StringBuilder sb = new StringBuilder("; IOVA 0x").append(Long.toHexString(iova))
                .append(" lies outside the IOMMU's usable ranges");
        for (int i = 0; i < iovaRanges.length; i += 2) {
            sb.append(" [0x").append(Long.toHexString(iovaRanges[i])).append("-0x").append(Long.toHexString(iovaRanges[i + 1])).append(']');
        }
        return sb.append(": the IOMMU's address width is too small for IOVA = VA (QEMU's intel-iommu needs aw-bits=48)").toString();
    }

    /** The IOVA ranges capability of VFIO_IOMMU_GET_INFO, or null. */
    private long[] readIovaRanges() {
        try (Arena a = Arena.ofConfined()) {
            int size = 4096;
            MemorySegment info = a.allocate(size, 8);
            info.set(JAVA_INT, 0, size);
            if (Ioctl.ioctlRaw(containerFd, Vfio.IOMMU_GET_INFO, info) < 0
                    || (info.get(JAVA_INT, 4) & Vfio.IOMMU_INFO_CAPS) == 0) {
                return null;
            }
            int off = info.get(JAVA_INT, 16);
            while (off > 0 && off + 16 <= size) {
                int id = Short.toUnsignedInt(info.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, off));
                int next = info.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, off + 4);
                if (id == Vfio.IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
                    int n = info.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, off + 8);
                    long[] r = new long[2 * n];
                    for (int i = 0; i < n && off + 16 + 16 * i + 16 <= size; i++) {
                        r[2 * i] = info.get(JAVA_LONG_UNALIGNED, off + 16 + 16L * i);
                        r[2 * i + 1] = info.get(JAVA_LONG_UNALIGNED, off + 24 + 16L * i);
                    }
                    return r;
                }
                off = next;
            }
            return null;
        }
    }

    @Override
    public void close() {
        DmaMemory m;
        synchronized (this) {
            m = memory;
            memory = null;
        }
        if (m != null) {
            m.removeRegionListener(this);
        }
        synchronized (this) {
            for (DmaRegion r : mapped) {
                unmap(r);
            }
            mapped.clear();
        }
        Posix.closeRaw(groupFd);
        Posix.closeRaw(containerFd);
    }

    @Override
    public String toString() {
        return name;
    }
}
