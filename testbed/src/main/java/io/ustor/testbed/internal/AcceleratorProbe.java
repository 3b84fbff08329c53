package io.ustor.testbed.internal;

import io.ustor.testbed.Accelerator;
import io.ustor.testbed.GuestImage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Decides once per JVM whether guests run under KVM: /dev/kvm existing is not enough (on some hosts QEMU aborts
 * setting up the vCPU), so it boots a trivial guest with {@code -accel kvm} (the image's kernel and initramfs,
 * whose init is busybox powering off at once) and uses KVM only if that guest powered off cleanly.
 * USTOR_TESTBED_ACCEL=kvm|tcg skips the probe.
 */
public final class AcceleratorProbe {
    private static final System.Logger LOG = System.getLogger(AcceleratorProbe.class.getName());
    private static final long PROBE_SECONDS = 60;
    private static Accelerator decided;

    private AcceleratorProbe() {
    }

    public static synchronized Accelerator accelerator(GuestImage image) {
        if (decided == null) {
            decided = decide(image);
        }
        return decided;
    }

    private static Accelerator decide(GuestImage image) {
        String forced = System.getenv("USTOR_TESTBED_ACCEL");
        if (forced != null && !forced.isBlank()) {
            return Accelerator.valueOf(forced.strip().toUpperCase(Locale.ROOT));
        }
        Path kvm = Path.of("/dev/kvm");
        if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            LOG.log(System.Logger.Level.INFO, "testbed: no usable /dev/kvm, guests run under TCG");
            return Accelerator.TCG;
        }
        Path dir = null;
        Process process = null;
        try {
            dir = Files.createTempDirectory("ustor-kvm-probe-");
            Path console = dir.resolve("console.log");
            List<String> command = List.of(HostTools.require("qemu-system-x86_64").toString(),
                    "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
                    "-serial", "file:" + console, "-kernel", image.kernel().toString(), "-initrd", image.initrd().toString(),
                    "-append", "console=ttyS0 panic=-1 rdinit=/bin/busybox -- poweroff -f");
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("qemu.log").toFile()).start();
            ProcessReaper.track(process);
            boolean exited = process.waitFor(PROBE_SECONDS, TimeUnit.SECONDS);
            boolean poweredOff = exited && process.exitValue() == 0
                    && Files.readString(console).contains("reboot: Power down");
            String qemuLog = Files.readString(dir.resolve("qemu.log")).strip();
            LOG.log(System.Logger.Level.INFO, "testbed: KVM probe " + (poweredOff ? "booted a guest, using KVM"
                    : "failed (" + (exited ? "exit " + process.exitValue() : "timed out") + (qemuLog.isEmpty() ? "" : ": "
                    + Text.tail(qemuLog, 2)) + "), guests run under TCG"));
            return poweredOff ? Accelerator.KVM : Accelerator.TCG;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "testbed: KVM probe could not run, guests run under TCG", e);
            return Accelerator.TCG;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Accelerator.TCG;
        } finally {
            if (process != null) {
                ProcessReaper.destroyTree(process);
            }
            if (dir != null) {
                ProcessReaper.deleteRecursively(dir);
            }
        }
    }
}
