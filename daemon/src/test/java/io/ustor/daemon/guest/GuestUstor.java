package io.ustor.daemon.guest;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs the project's own launchers (bin/ustord, bin/ustor-rpc, bin/bdevperf, bin/ustor-setup) inside a test guest,
 * on the shared JDK. Other builds may rewrite the project's target folders and Maven's repository while a guest test
 * runs, so the guest first takes a snapshot of what the launchers run: bin/, daemon/target/classes with every jar of
 * its class path, and perf's jars, copied from the read-only shares into /opt/ustor (the launchers find their files
 * relative to themselves).
 */
final class GuestUstor {
    static final String ROOT = "/opt/ustor";
    static final String BIN = ROOT + "/bin";
    static final String ENV = "export JAVA_HOME=" + Guest.JDK_PATH
            + " USTOR_JAVA_OPTS='-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx256m'"
            + " BDEVPERF_JAVA_OPTS='-Xms64m -Xmx512m -XX:TieredStopAtLevel=1'; ";
    static final String SOCKET = "/tmp/ustor.sock";

    private final Guest guest;

    GuestUstor(Guest guest) {
        this.guest = guest;
        Path hostRoot = Path.of(System.getProperty("ustor.bin", "../bin")).toAbsolutePath().normalize().getParent();
        Path hostRepo = Path.of(System.getProperty("user.home"), ".m2", "repository");
        String p = Guest.PROJECT_PATH;
        guest.exec("set -e; mkdir -p " + ROOT + "/daemon/target " + ROOT + "/perf/target " + ROOT + "/lib; "
                + "cp -r " + p + "/bin " + ROOT + "/; cp -r " + p + "/daemon/target/classes " + ROOT + "/daemon/target/; "
                + "cp -r " + p + "/perf/target/lib " + p + "/perf/target/ustor-perf-*.jar " + ROOT + "/perf/target/; "
                + "cp= ; i=0; for e in $(tr ':' ' ' < " + p + "/daemon/target/classpath.txt); do "
                + "g=$(echo \"$e\" | sed -e 's#^" + hostRoot + "#" + p + "#' -e 's#^" + hostRepo + "#"
                + Guest.MAVEN_REPOSITORY_PATH + "#'); i=$((i+1)); cp -r \"$g\" " + ROOT + "/lib/$i-$(basename \"$g\"); "
                + "cp=\"$cp:" + ROOT + "/lib/$i-$(basename \"$g\")\"; done; "
                + "echo \"${cp#:}\" > " + ROOT + "/daemon/target/classpath.txt; cat " + ROOT + "/daemon/target/classpath.txt")
                .requireSuccess();
    }

    /** A sparse raw image for an emulated namespace. */
    static Path image(Path p, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    /** Writes {@code text} to the run folder; returns its path in the guest. */
    String hostFile(String name, String text) throws IOException {
        Files.writeString(guest.runDirectory().resolve(name), text);
        return Guest.RUN_PATH + "/" + name;
    }

    /** A JSON config with one subsystem "bdev" holding bdev_nvme_attach_controller (SPDK's layout). */
    static String attachConfig(String name, String bdf) {
        return """
                {"subsystems": [{"subsystem": "bdev", "config": [
                  {"method": "bdev_nvme_attach_controller",
                   "params": {"name": "%s", "trtype": "PCIe", "traddr": "%s"}}]}]}
                """.formatted(name, bdf);
    }

    /** The PCI address of the controller with {@code serial}, while the kernel nvme driver has it. */
    String bdfWithSerial(String serial) {
        String out = guest.exec("modprobe nvme; sleep 1; for c in /sys/class/nvme/nvme*; do echo \"$(cat $c/serial) "
                + "$(basename $(readlink -f $c/device))\"; done").requireSuccess();
        for (String line : out.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (w.length == 2 && w[0].equals(serial)) {
                return w[1];
            }
        }
        throw new AssertionError("no controller with serial " + serial + " in: " + out);
    }

    /**
     * Starts bin/ustord in the background with {@code args}; waits for "ustord: ready" (or its exit) and returns its
     * output so far. The log is /host/ustord-N.log.
     */
    GuestResult startUstord(String log, String args) {
        return guest.exec(ENV + "rm -f " + SOCKET + "; setsid nohup " + BIN + "/ustord -r " + SOCKET
                + " -m 0x1 --idle-mode adaptive " + args + " > " + log + " 2>&1 < /dev/null & echo $! > /tmp/ustord.pid; "
                + "for i in $(seq 1500); do grep -q 'ustord: ready' " + log + " && break; "
                + "kill -0 $(cat /tmp/ustord.pid) 2>/dev/null || break; sleep 0.2; done; cat " + log
                + "; grep -q 'ustord: ready' " + log);
    }

    /** bin/ustor-rpc against the guest's ustord. */
    GuestResult rpc(String args) {
        return guest.exec(ENV + BIN + "/ustor-rpc -s " + SOCKET + " " + args);
    }

    /** SIGTERM to ustord, waits for it to exit; returns its whole log. */
    GuestResult stopUstord(String log) {
        return guest.exec("pid=$(cat /tmp/ustord.pid); kill -TERM $pid; for i in $(seq 600); do kill -0 $pid 2>/dev/null "
                + "|| break; sleep 0.2; done; cat " + log + "; ! kill -0 $pid 2>/dev/null");
    }

    GuestResult bdevperf(String args) {
        return guest.exec(ENV + BIN + "/bdevperf " + args);
    }
}
