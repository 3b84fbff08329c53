package io.ustor.nvme;

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
 * Error recovery of the driver over VFIO behind QEMU's virtual Intel IOMMU, in one guest with two emulated
 * controllers bound to vfio-pci: "slow0" (fixed address {@value #SLOW_BDF}) whose drive QEMU throttles to 4 KiB/s,
 * so that commands time out for real (Abort, then controller reset); and "hot0" on a hot-pluggable PCIe root port,
 * removed with the monitor's device_del while reads are in flight (the kernel's VFIO device request).
 */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NvmeVfioRecoveryGuestTest {
    static final String SLOW_BDF = "0000:00:10.0";
    static Guest guest;
    static String hotBdf;

    @BeforeAll
    static void boot() throws IOException {
        Path dir = Files.createTempDirectory("ustor-nvme-recovery");
        Path slow = NvmeVfioGuestTest.image(dir.resolve("slow.img"));
        Path hot = NvmeVfioGuestTest.image(dir.resolve("hot.img"));
        // no kernel nvme driver is loaded: nothing reads the throttled drive before the test does
        guest = Guest.builder().name("nvme-vfio-recovery").iommu(true).monitor()
                .qemuArgs("-drive", "file=" + slow + ",if=none,id=slowdrv,format=raw,throttling.bps-total=4096",
                        "-device", "nvme,serial=slow0,id=slow0,drive=slowdrv,bus=pcie.0,addr=0x10",
                        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
                        "-drive", "file=" + hot + ",if=none,id=hotdrv,format=raw",
                        "-device", "nvme,serial=hot0,drive=hotdrv,id=hot0,bus=rp1")
                .start();
        String nvmes = guest.exec("for d in /sys/bus/pci/devices/*; do [ \"$(cat $d/class)\" = 0x010802 ] && basename $d; done; true")
                .requireSuccess();
        for (String bdf : nvmes.trim().split("\\s+")) {
            if (!bdf.equals(SLOW_BDF)) {
                hotBdf = bdf;
            }
        }
        assertTrue(nvmes.contains(SLOW_BDF) && hotBdf != null, "two NVMe controllers, one at " + SLOW_BDF + ": " + nvmes);
        String setup = guest.exec("HUGEMEM=128 /ustor/bin/ustor-setup config && /ustor/bin/ustor-setup status").requireSuccess();
        System.out.println(setup);
        assertTrue(setup.contains(SLOW_BDF + " (") && setup.contains(hotBdf + " (") && setup.contains("-> vfio-pci"), setup);
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    /** Starts a check program in the background (output in /host/LOG) and waits until it prints {@code marker}. */
    static void startAndAwait(String log, String marker, String mainClass, String... args) {
        String start = "setsid nohup " + guest.javaCommand(mainClass, args) + " > /host/" + log + " 2>&1 < /dev/null & echo $! > /tmp/" + log + ".pid; "
                + "for i in $(seq 1200); do grep -q '" + marker + "' /host/" + log + " && break; kill -0 $(cat /tmp/" + log + ".pid) || break; sleep 0.2; done; "
                + "cat /host/" + log + "; grep -q '" + marker + "' /host/" + log;
        GuestResult r = guest.exec(start);
        System.out.println(r.output());
        assertEquals(0, r.exitCode(), r.output());
    }

    /** Waits for the background program to exit; returns its log, dmesg's tail and its exit status ("EXIT n"). */
    static GuestResult awaitExit(String log) {
        return guest.exec("pid=$(cat /tmp/" + log + ".pid); for i in $(seq 900); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done; "
                + "cat /host/" + log + "; echo; dmesg | tail -15; ! kill -0 $pid 2>/dev/null");
    }

    @Test
    @Order(1)
    void timedOutCommandIsAbortedThenTheControllerIsResetAndNewIoSucceeds() throws IOException {
        Path go = guest.runDirectory().resolve("unthrottled");
        startAndAwait("timeout.log", "RESET DONE", GuestTimeoutCheck.class.getName(), SLOW_BDF, Guest.RUN_PATH + "/unthrottled");
        String lifted = guest.monitorCommand("block_set_io_throttle slowdrv 0 0 0 0 0 0");
        System.out.println("block_set_io_throttle -> '" + lifted + "'");
        Files.writeString(go, "go\n");
        GuestResult done = awaitExit("timeout.log");
        System.out.println(done.output());
        String out = done.output();
        assertEquals(0, done.exitCode(), out);
        assertTrue(out.contains("TIMEOUT CHECKS PASSED"), out);
        // the driver's own account: timeout seen, Abort sent and its answer handled, then the reset
        assertTrue(out.contains("ms; aborting it"), out);
        assertTrue(out.contains("abort of command"), out);
        assertTrue(out.contains("still outstanding after abort; resetting the controller") || out.contains(": aborted"), out);
        assertTrue(out.contains("controller reset done") || out.contains(": aborted"), out);
    }

    @Test
    @Order(2)
    void hotRemoveDuringIoFailsItWithEnodevAndReleasesTheDevice() {
        startAndAwait("hot.log", "IO RUNNING", GuestVfioHotRemoveCheck.class.getName(), hotBdf);
        String del = guest.monitorCommand("device_del hot0");
        System.out.println("device_del -> '" + del + "'");
        // pciehp waits 5 s after the attention button, then vfio-pci asks the process for the device
        GuestResult done = awaitExit("hot.log");
        String out = done.output();
        System.out.println(out);
        assertEquals(0, done.exitCode(), out);
        assertTrue(out.contains("HOT REMOVE PASSED"), out);
        assertTrue(out.contains("DEVICE RELEASED"), out);
        assertTrue(out.contains("the kernel asks for the device back"), out);
        assertTrue(out.contains("the device is being removed (hot-remove; vfio)"), out);
        assertFalse(out.contains("blocked until released"), out);
        String gone = guest.exec("ls /sys/bus/pci/devices/" + hotBdf + " 2>&1; true").requireSuccess();
        assertTrue(gone.contains("No such file"), gone);
        assertFalse(guest.monitorCommand("info pci").contains("hot0"));
        String log = guest.qemuLog();
        assertFalse(log.contains("translation failure"), log);
    }

    @Test
    @Order(3)
    void setupStatusAndResetAfterTheRemoval() {
        String status = guest.exec("/ustor/bin/ustor-setup status").requireSuccess();
        System.out.println(status);
        String table = status.substring(status.indexOf("NVMe controllers:"));
        assertTrue(table.matches("(?s).*" + SLOW_BDF.replace(".", "\\.") + " +1b36:0010 +\\S+ +vfio-pci .*"), status);
        assertFalse(table.contains(hotBdf), "the removed controller is not listed: " + status);
        String reset = guest.exec("/ustor/bin/ustor-setup reset && sleep 1 && /ustor/bin/ustor-setup status").requireSuccess();
        System.out.println(reset);
        assertTrue(reset.contains(SLOW_BDF + ": vfio-pci -> nvme"), reset);
        String after = reset.substring(reset.indexOf("NVMe controllers:"));
        assertTrue(after.matches("(?s).*" + SLOW_BDF.replace(".", "\\.") + " +1b36:0010 +\\S+ +nvme .*"), reset);
    }
}
