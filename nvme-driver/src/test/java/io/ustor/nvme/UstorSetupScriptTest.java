package io.ustor.nvme;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/ustor-setup against a made-up sysfs tree (its SYSFS variable): what {@code status} reports, how PCI_ALLOWED
 * and PCI_BLOCKED select controllers, and the refusals of {@code config} that need no real device. Binding and
 * {@code reset} change kernel state: the guest tests cover them (NvmeVfioGuestTest, NvmeVfioRecoveryGuestTest).
 */
class UstorSetupScriptTest {
    @TempDir
    Path sys;

    record Run(int exit, String out) {
    }

    static Path script() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("bin/ustor-setup"))) {
            dir = dir.getParent();
        }
        Assumptions.assumeTrue(dir != null, "bin/ustor-setup not found above " + System.getProperty("user.dir"));
        return dir.resolve("bin/ustor-setup");
    }

    Run run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", script().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("SYSFS", sys.toString());
        pb.environment().remove("PCI_ALLOWED");
        pb.environment().remove("PCI_BLOCKED");
        pb.environment().remove("DRIVER_OVERRIDE");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ustor-setup did not finish");
        return new Run(p.exitValue(), out);
    }

    void hugepages(int total, int free) throws IOException {
        Path h = Files.createDirectories(sys.resolve("kernel/mm/hugepages/hugepages-2048kB"));
        Files.writeString(h.resolve("nr_hugepages"), total + "\n");
        Files.writeString(h.resolve("free_hugepages"), free + "\n");
    }

    Path device(String bdf, String cls, String driver, Integer group) throws IOException {
        Path d = Files.createDirectories(sys.resolve("devices/pci0000:00").resolve(bdf));
        Files.writeString(d.resolve("vendor"), "0x1b36\n");
        Files.writeString(d.resolve("device"), "0x0010\n");
        Files.writeString(d.resolve("class"), cls + "\n");
        Files.writeString(d.resolve("numa_node"), "0\n");
        if (driver != null) {
            Files.createSymbolicLink(d.resolve("driver"), Files.createDirectories(sys.resolve("bus/pci/drivers").resolve(driver)));
        }
        if (group != null) {
            Path g = Files.createDirectories(sys.resolve("kernel/iommu_groups").resolve(group.toString()).resolve("devices"));
            Files.createSymbolicLink(g.resolve(bdf), d);
            Files.createSymbolicLink(d.resolve("iommu_group"), g.getParent());
        }
        Files.createSymbolicLink(Files.createDirectories(sys.resolve("bus/pci/devices")).resolve(bdf), d);
        return d;
    }

    @Test
    void statusListsControllersWithDriverGroupAndBlockDevices() throws Exception {
        hugepages(64, 60);
        device("0000:00:04.0", "0x010802", "vfio-pci", 7);
        Path k = device("0000:00:05.0", "0x010802", "nvme", 8);
        Files.createDirectories(k.resolve("nvme/nvme0/nvme0n1/nvme0n1p1"));
        device("0000:00:02.0", "0x010000", "virtio-pci", 3);
        Run r = run(Map.of(), "status");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("2048kB     total 64 free 60"), r.out());
        assertTrue(r.out().contains("IOMMU: on, 3 groups"), r.out());
        assertTrue(r.out().matches("(?s).*0000:00:04\\.0 +1b36:0010 +0 +vfio-pci +7 .*"), r.out());
        assertTrue(r.out().matches("(?s).*0000:00:05\\.0 +1b36:0010 +0 +nvme +8 +nvme0n1 nvme0n1p1.*"), r.out());
        assertFalse(r.out().contains("0000:00:02.0"), "not an NVMe controller: " + r.out());
    }

    @Test
    void allowedAndBlockedListsSelectControllers() throws Exception {
        hugepages(0, 0);
        device("0000:00:04.0", "0x010802", null, null);
        device("0000:00:05.0", "0x010802", null, null);
        Run allowed = run(Map.of("PCI_ALLOWED", "0000:00:05.0"), "status");
        assertTrue(allowed.out().contains("0000:00:05.0") && !allowed.out().contains("0000:00:04.0"), allowed.out());
        Run blocked = run(Map.of("PCI_BLOCKED", "0000:00:05.0"), "status");
        assertTrue(blocked.out().contains("0000:00:04.0") && !blocked.out().contains("0000:00:05.0"), blocked.out());
        assertTrue(blocked.out().contains("IOMMU: off (no IOMMU groups): only uio_pci_generic works"), blocked.out());
        assertTrue(blocked.out().matches("(?s).*0000:00:04\\.0 +1b36:0010 +0 +- +- .*"), "unbound, no group: " + blocked.out());
    }

    @Test
    void unknownCommandFailsAndHelpShowsTheCommands() throws Exception {
        Run bad = run(Map.of(), "frobnicate");
        assertEquals(1, bad.exit(), bad.out());
        assertTrue(bad.out().contains("unknown command 'frobnicate' (config, status, reset, help)"), bad.out());
        Run help = run(Map.of(), "help");
        assertEquals(0, help.exit(), help.out());
        assertTrue(help.out().contains("ustor-setup status") && help.out().contains("ustor-setup reset"), help.out());
    }

    @Test
    void configRefusesWhatCannotWorkAndSaysWhy() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "config checks run as root (the script requires it)");
        hugepages(64, 64);
        device("0000:00:04.0", "0x010802", "nvme", null);
        Run bogus = run(Map.of("DRIVER_OVERRIDE", "nvme"), "config");
        assertEquals(1, bogus.exit(), bogus.out());
        assertTrue(bogus.out().contains("DRIVER_OVERRIDE must be vfio-pci or uio_pci_generic, not 'nvme'"), bogus.out());
        Run vfio = run(Map.of("DRIVER_OVERRIDE", "vfio-pci"), "config");
        assertEquals(1, vfio.exit(), vfio.out());
        assertTrue(vfio.out().contains("vfio-pci needs an IOMMU"), vfio.out());
        // the module counts as loaded (no modprobe on this machine)
        Files.createDirectories(sys.resolve("module/uio_pci_generic"));
        Run none = run(Map.of("DRIVER_OVERRIDE", "uio_pci_generic", "PCI_ALLOWED", "0000:00:09.0"), "config");
        assertEquals(1, none.exit(), none.out());
        assertTrue(none.out().contains("no NVMe controllers (PCI class 0x010802) among PCI_ALLOWED=0000:00:09.0"), none.out());
    }
}
