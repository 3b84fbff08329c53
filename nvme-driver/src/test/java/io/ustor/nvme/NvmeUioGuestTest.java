package io.ustor.nvme;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver over uio_pci_generic without an IOMMU (DMA to physical addresses from /proc/self/pagemap), then the
 * nvme bdev module attached by RPC and driven through the bdev layer, in the same guest.
 */
@Tag("guest")
class NvmeUioGuestTest {
    static Guest guest;
    static String bdf;

    @BeforeAll
    static void boot() throws IOException {
        Path dir = Files.createTempDirectory("ustor-nvme-uio");
        Path img = NvmeVfioGuestTest.image(dir.resolve("ns.img"));
        guest = Guest.builder().name("nvme-uio").iommu(false).nvme(img, "ustoruio").start();
        String out = guest.exec("modprobe nvme; sleep 1; basename $(readlink -f /sys/class/nvme/nvme0/device)").requireSuccess();
        bdf = out.trim();
        String setup = guest.exec("HUGEMEM=128 /ustor/bin/ustor-setup config").requireSuccess();
        assertTrue(setup.contains("-> uio_pci_generic"), setup);
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    void driverPassesEveryCheckWithPhysicalAddresses() {
        GuestResult r = guest.java(GuestNvmeCheck.class.getName(), bdf, "pa");
        System.out.println(r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("ALL CHECKS PASSED"), r.output());
        assertTrue(r.output().contains("access=uio"), r.output());
    }

    @Test
    void nvmeBdevServesIoThroughTheBdevLayer() {
        GuestResult r = guest.java(GuestBdevCheck.class.getName(), bdf, "pa");
        System.out.println(r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("BDEV CHECKS PASSED"), r.output());
    }
}
