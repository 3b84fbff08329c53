package io.ustor.testbed;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The QEMU command line a configuration turns into (no QEMU runs here). */
class QemuCommandLineTest {
    @TempDir
    Path dir;

    @Test
    void iommuNvmeVhostAndForwardsBecomeTheRightOptions() throws IOException {
        Path nvme = Files.createFile(dir.resolve("nvme.img"));
        GuestBuilder b = Guest.builder().name("t").iommu(true).nvme(nvme).vhostUserBlk(dir.resolve("vub.sock"), 2)
                .hugepages(16).memoryMb(512).kernelArgs("foo=1");
        List<Share> shares = List.of(new Share(dir, "/data", true));
        List<String> args = QemuCommandLine.build(Path.of("/usr/bin/qemu-system-x86_64"), b, image(), Accelerator.TCG,
                dir.resolve("run"), shares, List.of("s0"), Map.of(7000, 5555));

        assertEquals("q35,kernel-irqchip=split", after(args, "-machine"));
        assertEquals("tcg", after(args, "-accel"));
        assertEquals("memory-backend-memfd,id=mem,size=512M,share=on", after(args, "-object"));
        int iommu = args.indexOf("intel-iommu,intremap=on,caching-mode=on");
        int rootDisk = args.indexOf("virtio-blk-pci,drive=root,serial=ustor-root");
        assertTrue(iommu > 0 && iommu < rootDisk, "the IOMMU comes before the PCI devices: " + args);
        assertEquals("intel-iommu.aw-bits=48", after(args, "-global"), "48-bit IOVAs, so that IOVA = VA works");
        assertFalse(args.contains("-monitor"), args.toString());
        String append = after(args, "-append");
        assertTrue(append.contains("intel_iommu=on") && append.contains("hugepages=16") && append.endsWith("foo=1"), append);
        assertTrue(args.contains("file=" + dir.resolve("root.img") + ",if=none,id=root,format=raw,snapshot=on"), args.toString());
        assertTrue(args.contains("nvme,serial=ustor-nvme-0,drive=nvm0"), args.toString());
        assertTrue(args.contains("socket,id=vub0,path=" + dir.resolve("vub.sock")), args.toString());
        assertTrue(args.contains("vhost-user-blk-pci,chardev=vub0,num-queues=2"), args.toString());
        assertTrue(args.contains("user,id=n0,hostfwd=tcp:127.0.0.1:5555-:7000"), args.toString());
        assertTrue(args.contains("local,path=" + dir + ",mount_tag=s0,security_model=none,multidevs=remap,id=s0,readonly=on"),
                args.toString());
    }

    @Test
    void plainGuestHasNoIommuAndPrivateMemory() throws IOException {
        List<String> args = QemuCommandLine.build(Path.of("qemu"), Guest.builder(), image(), Accelerator.KVM,
                dir.resolve("run"), List.of(), List.of(), Map.of());
        assertEquals("q35", after(args, "-machine"));
        assertEquals("host", after(args, "-cpu"));
        assertFalse(args.contains("-object"), args.toString());
        assertFalse(after(args, "-append").contains("intel_iommu"));
        assertFalse(args.contains("-global"), args.toString());
    }

    @Test
    void monitorIsAUnixSocketInTheRunFolder() throws IOException {
        List<String> args = QemuCommandLine.build(Path.of("qemu"), Guest.builder().monitor(), image(), Accelerator.TCG,
                dir.resolve("run"), List.of(), List.of(), Map.of());
        assertEquals("unix:" + dir.resolve("run").resolve("monitor.sock") + ",server=on,wait=off", after(args, "-monitor"));
    }

    private GuestImage image() throws IOException {
        for (String f : List.of("vmlinux", "initrd.img", "root.img")) {
            Files.createFile(dir.resolve(f));
        }
        return GuestImage.at(dir);
    }

    private static String after(List<String> args, String option) {
        return args.get(args.indexOf(option) + 1);
    }
}
