package io.ustor.vhost;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * QEMU's vhost-user-blk with {@code reconnect=1} on its chardev, against a ustor server in its own JVM that is
 * killed (SIGKILL) while it holds the guest's writes, then started again: QEMU reconnects and gives the new server
 * its inflight buffer, the server resubmits the held requests, and the guest's fio finishes its write and verify
 * passes without an error.
 */
@Tag("guest")
class VhostReconnectGuestTest {
    private static final int BLOCK = 512;
    private static final long BLOCKS = 131072; // 64 MiB
    private static final int HELD = 8;

    @TempDir
    Path dir;
    Path disk;
    Process server;
    Guest guest;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();

    private Process startServer() throws IOException, InterruptedException {
        lines.clear();
        Process p = new ProcessBuilder(VhostServerProcess.command(dir.toString(), disk.toString(),
                Long.toString(BLOCKS), Integer.toString(BLOCK))).start();
        pump(p.inputReader(StandardCharsets.UTF_8), lines);
        pump(p.errorReader(StandardCharsets.UTF_8), errors);
        await(p, "ready");
        return p;
    }

    private static void pump(BufferedReader r, List<String> into) {
        Thread.ofPlatform().daemon().start(() -> {
            try (r) {
                for (String l; (l = r.readLine()) != null; ) {
                    into.add(l);
                }
            } catch (IOException ignored) {
                // gone
            }
        });
    }

    private void await(Process p, String prefix) throws InterruptedException {
        for (int i = 0; i < 2400 && lines.stream().noneMatch(l -> l.startsWith(prefix)); i++) { // a cap, not a timing check
            assertTrue(p.isAlive(), "server exited: " + lines + "\n" + String.join("\n", errors));
            Thread.sleep(50);
        }
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(prefix)), "no '" + prefix + "' from the server: " + lines);
    }

    @AfterEach
    void stop() {
        if (guest != null) {
            guest.close();
        }
        if (server != null) {
            server.destroyForcibly();
        }
    }

    @Test
    void guestFioSurvivesAServerKilledWithWritesInFlight() throws Exception {
        disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(BLOCKS * BLOCK);
        }
        server = startServer();
        guest = Guest.builder().name("ustor-vhost-reconnect").vhostUserBlkReconnecting(dir.resolve("vhost.0"), 1, 1).start();
        assertEquals("size=" + BLOCKS * BLOCK, guest.exec("echo size=$(blockdev --getsize64 /dev/vdb)").requireSuccess().strip());

        CompletableFuture<GuestResult> fio = CompletableFuture.supplyAsync(() -> guest.exec("""
                fio --name=reconnect --filename=/dev/vdb --size=16m --rw=randwrite --bs=4k --ioengine=libaio \\
                    --iodepth=16 --direct=1 --verify=crc32c --verify_fatal=1 \\
                    --output-format=terse --terse-version=3 > /tmp/r.terse || exit 1
                awk -F';' '{print "error=" $5 " read_kib=" $6 " write_kib=" $47}' /tmp/r.terse
                """, Duration.ofMinutes(10)));
        Thread.sleep(3000); // let fio get going (the hold below catches its writes whenever they come)
        Writer stdin = server.outputWriter(StandardCharsets.UTF_8);
        stdin.write("hold " + HELD + "\n");
        stdin.flush();
        await(server, "holding " + HELD);
        assertFalse(fio.isDone(), "fio waits for the held writes");

        server.destroyForcibly();
        assertTrue(server.waitFor(60, TimeUnit.SECONDS));
        server = startServer(); // QEMU reconnects to the same socket on its own
        GuestResult r = fio.get(15, TimeUnit.MINUTES);
        String out = r.requireSuccess();
        assertTrue(out.contains("error=0 read_kib=16384 write_kib=16384"), out);
        await(server, "resubmitted ");
        int resubmitted = lines.stream().filter(l -> l.startsWith("resubmitted ")).mapToInt(
                l -> Integer.parseInt(l.substring("resubmitted ".length()))).sum();
        assertTrue(resubmitted >= HELD, "the new server resubmitted the " + HELD + " held writes: " + lines);
        System.out.println("ustor vhost-user-blk reconnect (" + guest.accelerator() + " guest): " + out.strip() + ", resubmitted " + resubmitted);
    }
}
