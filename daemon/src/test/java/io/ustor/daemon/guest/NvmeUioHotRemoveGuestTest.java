package io.ustor.daemon.guest;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Without an IOMMU (uio_pci_generic, physical addresses): ustord --iova-mode pa serves the nvme bdev, bdevperf's
 * verify passes on it, then the controller (on a hot-pluggable PCIe root port) is hot-removed with QEMU's
 * device_del while reads are in flight through the bdev layer: they fail, the bdev goes, the process lives on.
 */
@Tag("guest-slow") // needs a packaged perf (bin/bdevperf) and ~10 min of TCG: .ci/run --full
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NvmeUioHotRemoveGuestTest {
    static Guest guest;
    static GuestUstor ustor;
    static String bdf;

    @BeforeAll
    static void boot() throws IOException {
        Path img = GuestUstor.image(Files.createTempDirectory("ustor-ustord-uio").resolve("ns.img"), 64L << 20);
        guest = Guest.builder().name("ustord-nvme-uio").iommu(false).memoryMb(2048).monitor()
                .qemuArgs("-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
                        "-drive", "file=" + img + ",if=none,id=hotdrv,format=raw",
                        "-device", "nvme,serial=hot0,drive=hotdrv,id=hot0,bus=rp1")
                .start();
        ustor = new GuestUstor(guest);
        bdf = ustor.bdfWithSerial("hot0");
        String setup = guest.exec("HUGEMEM=512 " + GuestUstor.BIN + "/ustor-setup config").requireSuccess();
        assertTrue(setup.contains("-> uio_pci_generic"), setup);
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    @Order(1)
    void ustordWithPhysicalAddressesServesTheNvmeBdev() throws IOException {
        String config = ustor.hostFile("nvme.json", GuestUstor.attachConfig("Nvme0", bdf));
        GuestResult start = ustor.startUstord("/host/ustord-1.log", "--iova-mode pa -c " + config);
        System.out.println(start.output());
        assertEquals(0, start.exitCode(), start.output());
        assertTrue(start.output().contains("Nvme0n1 (nvme, 64 MiB"), start.output());
        assertTrue(start.output().contains("IOVA pa"), start.output());
        String ctrlrs = ustor.rpc("bdev_nvme_get_controllers").requireSuccess();
        assertTrue(ctrlrs.contains("\"access\": \"uio\""), ctrlrs);
        GuestResult stop = ustor.stopUstord("/host/ustord-1.log");
        assertEquals(0, stop.exitCode(), stop.output());
    }

    @Test
    @Order(2)
    void bdevperfVerifyPassesWithPhysicalAddresses() throws IOException {
        String config = ustor.hostFile("bdevperf.json", GuestUstor.attachConfig("Nvme0", bdf));
        GuestResult r = guest.exec(GuestUstor.ENV + "BDEVPERF_JAVA_OPTS=\"$BDEVPERF_JAVA_OPTS -Dustor.dma.iovaMode=pa\" "
                + GuestUstor.BIN + "/bdevperf --json " + config + " -m 0x1 -q 32 -o 4096 -w verify -t 5");
        System.out.println(r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("Nvme0n1"), r.output());
    }

    @Test
    @Order(3)
    void hotRemoveFailsInFlightIoAndRemovesTheBdev() throws Exception {
        String start = "setsid nohup " + guest.javaCommand(GuestHotRemoveCheck.class.getName(), bdf, "pa")
                + " > /host/hot.log 2>&1 < /dev/null & echo $! > /tmp/hot.pid; "
                + "for i in $(seq 1500); do grep -q 'IO RUNNING' /host/hot.log && break; kill -0 $(cat /tmp/hot.pid) || break; sleep 0.2; done; "
                + "cat /host/hot.log; grep -q 'IO RUNNING' /host/hot.log";
        GuestResult running = guest.exec(start);
        assertEquals(0, running.exitCode(), running.output());

        String del = guest.monitorCommand("device_del hot0");
        System.out.println("device_del -> '" + del + "'");
        // the guest's pciehp waits 5 s after the attention button, then removes the device
        GuestResult done = guest.exec("pid=$(cat /tmp/hot.pid); for i in $(seq 900); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done; "
                + "cat /host/hot.log; echo; dmesg | tail -20; lspci -nn | grep -i 'non-volatile' || echo 'no NVMe on the bus'; "
                + "! kill -0 $pid 2>/dev/null");
        System.out.println(done.output());
        assertEquals(0, done.exitCode(), done.output());
        assertTrue(done.output().contains("HOT REMOVE PASSED"), done.output());
        assertTrue(done.output().contains("no NVMe on the bus"), done.output());
        assertFalse(guest.monitorCommand("info pci").contains("hot0"));
    }
}
