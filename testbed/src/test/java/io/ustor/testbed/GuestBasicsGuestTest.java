package io.ustor.testbed;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One guest, the basic capabilities: commands, hugepages, the JDK and project shares, the network both ways. */
@Tag("guest")
class GuestBasicsGuestTest {
    private static final int GUEST_PORT = 7000;
    private static Guest guest;

    @BeforeAll
    static void boot() {
        guest = Guest.builder().name("basics").hugepages(32).hostForward(GUEST_PORT).start();
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    void returnsOutputAndExitStatus() {
        GuestResult result = guest.exec("echo to-stdout; echo to-stderr >&2; exit 3");
        assertEquals(3, result.exitCode());
        assertTrue(result.output().contains("to-stdout") && result.output().contains("to-stderr"), result.output());
        assertEquals("guest\n", guest.exec("hostname").requireSuccess());
    }

    @Test
    void hugepagesCanBeAllocated() {
        String out = guest.exec("""
                set -e
                grep -E '^HugePages_(Total|Free)' /proc/meminfo
                fallocate -l 8M /dev/hugepages/probe
                echo "after: $(awk '/^HugePages_Free/{print $2}' /proc/meminfo)"
                rm /dev/hugepages/probe
                """).requireSuccess();
        assertTrue(out.contains("HugePages_Total:      32"), out);
        assertTrue(out.contains("HugePages_Free:       32"), out);
        assertTrue(out.contains("after: 28"), out);
    }

    @Test
    void jdkRunsAProjectMainClassFromTheShare() {
        String out = guest.java(GuestHello.class.getName(), "a b", "c").requireSuccess();
        assertTrue(out.contains("hello from the guest, java 25, os Linux, args a b,c"), out);
        assertTrue(out.contains("class from " + Guest.PROJECT_PATH + "/testbed/target/test-classes/"), out);
    }

    @Test
    void sharesAreReadOnlyAndTheRunFolderIsWritable() throws Exception {
        GuestResult write = guest.exec("touch " + Guest.PROJECT_PATH + "/pom.xml");
        assertNotEquals(0, write.exitCode(), write.output());
        guest.exec("echo from-guest > " + Guest.RUN_PATH + "/note").requireSuccess();
        assertEquals("from-guest\n", java.nio.file.Files.readString(guest.runDirectory().resolve("note")));
    }

    @Test
    void reachesAServerOnTheHostLoopback() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept();
                     BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                     PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8)) {
                    String line = in.readLine();
                    out.println("pong to " + line);
                    return line;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            String out = guest.exec("exec 3<>/dev/tcp/" + Guest.HOST_ADDRESS + "/" + server.getLocalPort()
                    + "; echo ping-from-guest >&3; read -r reply <&3; echo \"reply: $reply\"").requireSuccess();
            assertEquals("ping-from-guest", received.get(30, TimeUnit.SECONDS));
            assertTrue(out.contains("reply: pong to ping-from-guest"), out);
        }
    }

    @Test
    void hostReachesAGuestServerThroughAForwardedPort() throws Exception {
        // a one-shot server in the guest: busybox nc answers the first connection with a line
        guest.exec("(echo hello-from-guest-server | busybox nc -l -p " + GUEST_PORT + " > " + Guest.RUN_PATH
                + "/nc.in 2>&1 &) ; sleep 0.5").requireSuccess();
        int port = guest.hostPort(GUEST_PORT);
        String line = null;
        for (int attempt = 0; attempt < 50 && line == null; attempt++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
                s.setSoTimeout(30_000);
                OutputStream out = s.getOutputStream();
                out.write("hello-from-host\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            } catch (java.io.IOException e) {
                Thread.sleep(200); // QEMU accepts on the host side before the guest listens: retry
            }
        }
        assertEquals("hello-from-guest-server", line);
        String received = guest.exec("sleep 0.5; cat " + Guest.RUN_PATH + "/nc.in", Duration.ofSeconds(60)).requireSuccess();
        assertTrue(received.contains("hello-from-host"), received);
    }

    @Test
    void linuxInitiatorsAreReady() {
        // what the iSCSI and NVMe/TCP tests need: the initiator modules load and iscsid runs (no udev: sd_mod by hand)
        String out = guest.exec("""
                set -e
                modprobe sd_mod; modprobe iscsi_tcp; modprobe nvme-tcp
                iscsid
                iscsiadm -m session 2>&1 || true
                nvme version
                cat /etc/nvme/hostnqn
                lsmod | awk '$1 == "iscsi_tcp" || $1 == "nvme_tcp" {print "module " $1}'
                """).requireSuccess();
        assertTrue(out.contains("module iscsi_tcp") && out.contains("module nvme_tcp"), out);
        assertTrue(out.contains("No active sessions"), out);
        assertTrue(out.contains("nvme version"), out);
        assertTrue(out.contains("nqn.2014-08.org.nvmexpress:uuid:"), out);
    }
}
