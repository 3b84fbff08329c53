package io.ustor.env.pci;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PciSysfsTest {
    @TempDir
    Path sys;

    private void device(String bdf, String vendor, String device, String cls, String driver, Integer group) throws IOException {
        Path d = Files.createDirectories(sys.resolve("devices/pci0000:00").resolve(bdf));
        Files.writeString(d.resolve("vendor"), vendor + "\n");
        Files.writeString(d.resolve("device"), device + "\n");
        Files.writeString(d.resolve("class"), cls + "\n");
        Files.writeString(d.resolve("numa_node"), "-1\n");
        if (driver != null) {
            Path drv = Files.createDirectories(sys.resolve("bus/pci/drivers").resolve(driver));
            Files.createSymbolicLink(d.resolve("driver"), drv);
        }
        if (group != null) {
            Path g = Files.createDirectories(sys.resolve("kernel/iommu_groups").resolve(group.toString()).resolve("devices"));
            Files.createSymbolicLink(g.resolve(bdf), d);
            Files.createSymbolicLink(d.resolve("iommu_group"), g.getParent());
        }
        Path links = Files.createDirectories(sys.resolve("bus/pci/devices"));
        Files.createSymbolicLink(links.resolve(bdf), d);
    }

    @Test
    void listsDevicesWithDriverGroupAndClass() throws IOException {
        device("0000:00:04.0", "0x1b36", "0x0010", "0x010802", "vfio-pci", 7);
        device("0000:00:05.0", "0x1b36", "0x0010", "0x010802", null, null);
        device("0000:00:02.0", "0x1af4", "0x1042", "0x010000", "virtio-pci", 3);
        PciSysfs s = new PciSysfs(sys);
        List<PciDeviceInfo> all = s.list();
        assertEquals(3, all.size());
        List<PciDeviceInfo> nvme = s.nvmeControllers();
        assertEquals(2, nvme.size());
        PciDeviceInfo a = nvme.get(0);
        assertEquals(PciAddress.parse("0000:00:04.0"), a.address());
        assertEquals(0x1b36, a.vendorId());
        assertEquals(0x0010, a.deviceId());
        assertEquals("vfio-pci", a.driver());
        assertEquals(7, a.iommuGroup());
        assertEquals(-1, a.numaNode());
        assertTrue(a.isNvme());
        assertNull(nvme.get(1).driver());
        assertEquals(-1, nvme.get(1).iommuGroup());
        assertEquals(List.of(PciAddress.parse("0000:00:04.0")), s.iommuGroupMembers(7));
    }

    @Test
    void missingDeviceIsExplained() {
        PciSysfs s = new PciSysfs(sys);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.read(PciAddress.parse("0000:00:09.0")));
        assertTrue(e.getMessage().contains("no PCI device 0000:00:09.0"), e.getMessage());
        assertEquals(List.of(), s.list());
    }

    @Test
    void opensOnlyThroughAUserSpaceDriver() throws IOException {
        device("0000:00:04.0", "0x1b36", "0x0010", "0x010802", "nvme", null);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> PciDevices.open(new PciSysfs(sys), PciAddress.parse("0000:00:04.0")));
        assertTrue(e.getMessage().contains("bound to nvme") && e.getMessage().contains("ustor-setup"), e.getMessage());
        IllegalStateException v = assertThrows(IllegalStateException.class,
                () -> VfioPciDevice.open(new PciSysfs(sys), PciAddress.parse("0000:00:04.0")));
        assertTrue(v.getMessage().contains("no IOMMU group"), v.getMessage());
    }

    @Test
    void parsesAndFormatsAddresses() {
        assertEquals("0000:00:04.0", PciAddress.parse("00:04.0").toString());
        assertEquals(new PciAddress(1, 0x3b, 0x1f, 7), PciAddress.parse("0001:3b:1f.7"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("0000:00:04"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("zz:00.0"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("00:20.0"));
    }
}
