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

import static org.junit.jupiter.api.Assertions.assertTrue;

/** An emulated NVMe controller without an IOMMU: the kernel driver reads it, then it binds to uio_pci_generic. */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NvmeUioGuestTest {
    @TempDir
    static Path dir;
    private static Guest guest;

    @BeforeAll
    static void boot() throws Exception {
        Path drive = NvmeDrives.create(dir.resolve("nvme.img"), "HOST-PATTERN-FOR-UIO");
        guest = Guest.builder().name("nvme-uio").nvme(drive).start();
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    @Order(1)
    void kernelDriverReadsTheHostsDataWithoutAnIommu() {
        String out = guest.exec(NvmeDrives.KERNEL_READ_SCRIPT).requireSuccess();
        assertTrue(out.contains("serial=ustor-nvme-0"), out);
        assertTrue(out.contains("lba0=HOST-PATTERN-FOR-UIO"), out);
        assertTrue(out.contains("iommu_group=\n"), "no IOMMU group without a virtual IOMMU: " + out);
    }

    @Test
    @Order(2)
    void bindsToUioPciGeneric() {
        String out = guest.exec(NvmeDrives.bindScript("uio_pci_generic") + """
                for u in /sys/class/uio/uio*; do
                  [ "$(basename "$(readlink "$u/device")")" = "$BDF" ] && echo "uio device: /dev/${u##*/} for $BDF"
                done
                [ -e /sys/bus/pci/devices/$BDF/resource0 ] && echo "BAR0 mappable: resource0"
                """).requireSuccess();
        assertTrue(out.contains("driver now: uio_pci_generic"), out);
        assertTrue(out.contains("uio device: /dev/uio"), out);
        assertTrue(out.contains("BAR0 mappable"), out);
    }
}
