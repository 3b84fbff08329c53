package io.ustor.env.pci;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * PCI devices as sysfs shows them under {@code <root>/bus/pci/devices/<BDF>/} (vendor, device, class, numa_node,
 * the driver and iommu_group links). The root is /sys normally; tests point it at a fake tree.
 */
public final class PciSysfs {
    private final Path root;

    public PciSysfs(Path sysRoot) {
        this.root = sysRoot;
    }

    /** The real /sys. */
    public static PciSysfs system() {
        return new PciSysfs(Path.of("/sys"));
    }

    /** The device's sysfs folder. */
    public Path deviceDir(PciAddress address) {
        return root.resolve("bus/pci/devices").resolve(address.toString());
    }

    /** Every PCI function, sorted by address. */
    public List<PciDeviceInfo> list() {
        Path dir = root.resolve("bus/pci/devices");
        List<PciDeviceInfo> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                out.add(read(PciAddress.parse(p.getFileName().toString())));
            }
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        return out;
    }

    /** The NVMe controllers (class 0x010802). */
    public List<PciDeviceInfo> nvmeControllers() {
        return list().stream().filter(PciDeviceInfo::isNvme).toList();
    }

    /** One function; fails naming the path when it does not exist. */
    public PciDeviceInfo read(PciAddress address) {
        Path d = deviceDir(address);
        if (!Files.isDirectory(d)) {
            throw new IllegalArgumentException("no PCI device " + address + " (" + d + " does not exist)");
        }
        int vendor = (int) readHex(d.resolve("vendor"));
        int device = (int) readHex(d.resolve("device"));
        int cls = (int) readHex(d.resolve("class"));
        int numa = -1;
        Path numaFile = d.resolve("numa_node");
        if (Files.exists(numaFile)) {
            numa = Integer.parseInt(readText(numaFile));
        }
        return new PciDeviceInfo(address, vendor, device, cls, numa, linkName(d.resolve("driver")),
                linkNumber(d.resolve("iommu_group")));
    }

    /** The other devices in the same IOMMU group (VFIO needs all of them bound to vfio-pci or unbound). */
    public List<PciAddress> iommuGroupMembers(int group) {
        Path dir = root.resolve("kernel/iommu_groups").resolve(Integer.toString(group)).resolve("devices");
        List<PciAddress> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                out.add(PciAddress.parse(p.getFileName().toString()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        return out;
    }

    static long readHex(Path file) {
        String s = readText(file);
        if (s.startsWith("0x") || s.startsWith("0X")) {
            s = s.substring(2);
        }
        return Long.parseLong(s, 16);
    }

    static String readText(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
    }

    private static String linkName(Path link) {
        try {
            return Files.readSymbolicLink(link).getFileName().toString();
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null; // not a link: no driver bound
        }
    }

    private static int linkNumber(Path link) {
        String name = linkName(link);
        if (name == null) {
            return -1;
        }
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
