package io.ustor.nvme;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver over VFIO behind QEMU's virtual Intel IOMMU, against two emulated controllers: 512-byte and 4096-byte
 * LBAs. QEMU must log no IOMMU translation failure (a wrong DMA address shows up as one).
 */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NvmeVfioGuestTest {
    static Guest guest;
    static Path dir;

    @BeforeAll
    static void boot() throws IOException {
        dir = Files.createTempDirectory("ustor-nvme-vfio");
        Path d512 = image(dir.resolve("ns512.img"));
        Path d4k = image(dir.resolve("ns4k.img"));
        guest = Guest.builder().name("nvme-vfio").iommu(true).nvme(d512, "ustor512")
                .qemuArgs("-drive", "file=" + d4k + ",if=none,id=nvm4k,format=raw,discard=unmap",
                        "-device", "nvme,serial=ustor4k,id=nvme4k",
                        "-device", "nvme-ns,drive=nvm4k,bus=nvme4k,nsid=1,logical_block_size=4096,physical_block_size=4096")
                .start();
    }

    static Path image(Path p) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        return p;
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    static String bdfWithSerial(String serial) {
        // the kernel driver names the serial; bind happens afterwards
        String out = guest.exec("modprobe nvme; sleep 1; for c in /sys/class/nvme/nvme*; do echo \"$(cat $c/serial) $(basename $(readlink -f $c/device))\"; done").requireSuccess();
        for (String line : out.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (w.length == 2 && w[0].equals(serial)) {
                return w[1];
            }
        }
        throw new AssertionError("no controller with serial " + serial + " in: " + out);
    }

    static String bdf512, bdf4k;

    @Test
    @Order(1)
    void setupBindsToVfioAndDriverPassesEveryCheckOnBothFormats() {
        bdf512 = bdfWithSerial("ustor512");
        bdf4k = bdfWithSerial("ustor4k");
        String setup = guest.exec("HUGEMEM=128 /ustor/bin/ustor-setup config && /ustor/bin/ustor-setup status").requireSuccess();
        System.out.println(setup);
        assertTrue(setup.contains("-> vfio-pci"), setup);
        for (String bdf : new String[]{bdf512, bdf4k}) {
            GuestResult r = bdf.equals(bdf4k) ? guest.java(GuestNvmeCheck.class.getName(), bdf, "va", "trim-zeroes")
                    : guest.java(GuestNvmeCheck.class.getName(), bdf, "va");
            System.out.println(r.output());
            assertEquals(0, r.exitCode(), r.output());
            assertTrue(r.output().contains("ALL CHECKS PASSED"), r.output());
            assertTrue(r.output().contains("access=vfio"), r.output());
        }
        String log = guest.qemuLog();
        assertFalse(log.contains("vtd_iommu_translate: detected translation failure"), log);
        assertFalse(log.contains("translation failure"), log);
    }

    @Test
    @Order(2)
    void resetGivesControllersBackToTheKernel() {
        String out = guest.exec("/ustor/bin/ustor-setup reset && sleep 1 && /ustor/bin/ustor-setup status").requireSuccess();
        assertTrue(out.contains("-> nvme") || out.contains("already bound to nvme"), out);
        assertFalse(out.substring(out.indexOf("NVMe controllers:")).contains("vfio-pci"), out);
    }
}
