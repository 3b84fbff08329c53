package io.ustor.testbed;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An emulated NVMe controller behind the virtual IOMMU: the kernel driver reads it, then it binds to vfio-pci. */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NvmeIommuGuestTest {
    @TempDir
    static Path dir;
    private static Guest guest;

    @BeforeAll
    static void boot() throws Exception {
        Path drive = NvmeDrives.create(dir.resolve("nvme.img"), "HOST-PATTERN-AT-LBA0");
        guest = Guest.builder().name("nvme-iommu").iommu(true).nvme(drive, "ustor-test-1").start();
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    @Order(1)
    void kernelDriverReadsTheHostsDataBehindTheIommu() {
        String out = guest.exec(NvmeDrives.KERNEL_READ_SCRIPT).requireSuccess();
        assertTrue(out.contains("serial=ustor-test-1"), out);
        assertTrue(out.contains("lba0=HOST-PATTERN-AT-LBA0"), out);
        assertTrue(out.contains("iommu_group="), out);
        assertTrue(guest.consoleLog().contains("DMAR") || guest.exec("dmesg | grep -i DMAR").succeeded(),
                "the guest kernel should report the virtual IOMMU (DMAR)");
    }

    @Test
    @Order(2)
    void bindsToVfioPciAndTheGroupNodeAppears() {
        String out = guest.exec(NvmeDrives.bindScript("vfio-pci") + """
                group=$(basename "$(readlink /sys/bus/pci/devices/$BDF/iommu_group)")
                ls -l /dev/vfio
                [ -c /dev/vfio/vfio ] && [ -c "/dev/vfio/$group" ] && echo "vfio group node: /dev/vfio/$group"
                """).requireSuccess();
        assertTrue(out.contains("driver now: vfio-pci"), out);
        assertTrue(out.contains("vfio group node: /dev/vfio/"), out);
        assertFalse(guest.qemuLog().contains("vtd_iommu_translate: detected translation failure"), guest.qemuLog());
    }
}
