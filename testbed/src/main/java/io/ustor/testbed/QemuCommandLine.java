package io.ustor.testbed;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Turns a guest's configuration into QEMU's command line (one place that knows QEMU's option syntax). */
final class QemuCommandLine {
    /** The 9p tag of the run folder, mounted on /host by the guest's init. */
    static final String RUN_TAG = "host";
    /** The monitor's socket in the run folder (with {@link GuestBuilder#monitor()}). */
    static final String MONITOR_SOCKET = "monitor.sock";

    private QemuCommandLine() {
    }

    /** {@code shareTags} pairs each share with its 9p mount tag (same order as {@code shares}). */
    static List<String> build(Path qemu, GuestBuilder b, GuestImage image, Accelerator accel, Path runDir,
                              List<Share> shares, List<String> shareTags, Map<Integer, Integer> forwards) {
        List<String> args = new ArrayList<>();
        args.add(qemu.toString());
        add(args, "-name", "ustor-" + b.name);
        add(args, "-accel", accel.qemuName(), "-cpu", accel.cpuModel(), "-smp", Integer.toString(b.cpus));
        // q35 (PCIe) always; the vIOMMU's interrupt remapping needs the split irqchip
        add(args, "-machine", b.iommu ? "q35,kernel-irqchip=split" : "q35");
        add(args, "-m", b.memoryMb + "M");
        if (b.sharedMemory) {
            // vhost-user back ends map the guest's RAM: it must be a shareable file (memfd)
            add(args, "-object", "memory-backend-memfd,id=mem,size=" + b.memoryMb + "M,share=on",
                    "-numa", "node,memdev=mem");
        }
        add(args, "-nodefaults", "-display", "none", "-no-reboot", "-no-user-config");
        add(args, "-serial", "file:" + runDir.resolve("console.log"));
        if (b.iommu) {
            // before the PCI devices it translates for; caching-mode lets vfio in the guest map DMA; 48-bit
            // addresses (QEMU 7.2 defaults to 39) so that user-space drivers can use IOVA = virtual address
            add(args, "-global", "intel-iommu.aw-bits=48");
            add(args, "-device", "intel-iommu,intremap=on,caching-mode=on");
        }
        add(args, "-kernel", image.kernel().toString(), "-initrd", image.initrd().toString());
        add(args, "-append", kernelCommandLine(b));
        // the root disk first, so it is /dev/vda; snapshot=on: the cached image is never written
        add(args, "-drive", "file=" + image.rootDisk() + ",if=none,id=root,format=raw,snapshot=on",
                "-device", "virtio-blk-pci,drive=root,serial=ustor-root");
        add(args, "-virtfs", virtfs(runDir, RUN_TAG, false));
        for (int i = 0; i < shares.size(); i++) {
            add(args, "-virtfs", virtfs(shares.get(i).hostPath(), shareTags.get(i), shares.get(i).readOnly()));
        }
        StringBuilder net = new StringBuilder("user,id=n0");
        forwards.forEach((guestPort, hostPort) ->
                net.append(",hostfwd=tcp:127.0.0.1:").append(hostPort).append("-:").append(guestPort));
        add(args, "-netdev", net.toString(), "-device", "virtio-net-pci,netdev=n0");
        for (int i = 0; i < b.vhostUserBlkDevices.size(); i++) {
            GuestBuilder.VhostUserBlkDevice d = b.vhostUserBlkDevices.get(i);
            add(args, "-chardev", "socket,id=vub" + i + ",path=" + d.socket()
                            + (d.reconnectSeconds() > 0 ? ",reconnect=" + d.reconnectSeconds() : ""),
                    "-device", "vhost-user-blk-pci,chardev=vub" + i + ",num-queues=" + d.numQueues());
        }
        for (int i = 0; i < b.nvmeDrives.size(); i++) {
            GuestBuilder.NvmeDrive d = b.nvmeDrives.get(i);
            add(args, "-drive", "file=" + d.file() + ",if=none,id=nvm" + i + ",format=raw",
                    "-device", "nvme,serial=" + d.serial() + ",drive=nvm" + i);
        }
        if (b.monitor) {
            // the human monitor on a Unix socket, for Guest.monitorCommand (device_del, info pci, ...)
            requireNoComma(runDir);
            add(args, "-monitor", "unix:" + runDir.resolve(MONITOR_SOCKET) + ",server=on,wait=off");
        }
        args.addAll(b.qemuArgs);
        return args;
    }

    private static String kernelCommandLine(GuestBuilder b) {
        // root: the first virtio disk; quiet: every console character is slow under TCG; tsc=reliable and
        // no_timer_check: no slow HPET clocksource nor timer checks; mitigations=off: a throw-away test guest
        List<String> words = new ArrayList<>(List.of("console=ttyS0", "root=/dev/vda", "rw",
                "init=/sbin/ustor-init", "panic=-1", "quiet", "loglevel=3", "tsc=reliable", "no_timer_check",
                "mitigations=off", "hugepages=" + b.hugepages));
        if (b.iommu) {
            words.add("intel_iommu=on");
        }
        words.addAll(b.kernelArgs);
        return String.join(" ", words);
    }

    private static String virtfs(Path hostPath, String tag, boolean readOnly) {
        requireNoComma(hostPath);
        return "local,path=" + hostPath + ",mount_tag=" + tag + ",security_model=none,multidevs=remap,id=" + tag
                + (readOnly ? ",readonly=on" : "");
    }

    private static void requireNoComma(Path path) {
        if (path.toString().contains(",")) {
            throw new IllegalArgumentException("QEMU options cannot take a path with a comma: " + path);
        }
    }

    private static void add(List<String> args, String... more) {
        args.addAll(List.of(more));
    }
}
