package io.ustor.perf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bdevperf's verify workload through another daemon's disk: bin/ustord serves a RAM bdev as a vhost-user-blk
 * controller, bdevperf attaches to its socket with bdev_virtio_attach_controller (SPDK's config form) and runs verify.
 * Here rather than in the daemon module because bdevperf lives in this one (built after the daemon).
 */
class BdevperfOverVhostTest {
    private static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void verifyRunsCleanThroughAnotherUstordsVhostController() throws Exception {
        Path sockDir = Files.createDirectory(dir.resolve("vhost"));
        Path serverConfig = dir.resolve("ustord.json");
        Files.writeString(serverConfig, """
                {"subsystems": [
                  {"subsystem": "bdev", "config": [
                    {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 8192, "block_size": 4096}}]},
                  {"subsystem": "vhost_blk", "config": [
                    {"method": "vhost_create_blk_controller", "params": {"ctrlr": "vhost.0", "dev_name": "Malloc0"}}]}
                ]}""");
        Path log = dir.resolve("ustord.log");
        Process ustord = new ProcessBuilder(List.of(BIN.resolve("ustord").toString(), "-r", dir.resolve("rpc.sock").toString(),
                "--no-huge", "-m", "0x1", "--idle-mode", "adaptive", "-S", sockDir.toString(), "-c", serverConfig.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            for (int i = 0; i < 1200 && !Files.readString(log).contains("ustord: ready"); i++) { // a cap, not a timing check
                assertTrue(ustord.isAlive(), () -> "ustord exited: " + read(log));
                Thread.sleep(100);
            }
            assertTrue(Files.readString(log).contains("ustord: ready"), () -> read(log));

            Path clientConfig = dir.resolve("bdevperf.json");
            Files.writeString(clientConfig, """
                    {"subsystems": [{"subsystem": "bdev", "config": [
                      {"method": "bdev_virtio_attach_controller", "params": {"name": "VirtioUser0", "trtype": "user",
                       "traddr": "%s", "dev_type": "blk", "vq_count": 1, "vq_size": 128}}]}]}
                    """.formatted(sockDir.resolve("vhost.0")));
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            int rc = Bdevperf.run(new String[]{"--json", clientConfig.toString(), "-q", "32", "-o", "4096", "-w", "verify",
                    "-t", "3", "-m", "0x1"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            String o = out.toString(StandardCharsets.UTF_8);
            assertEquals(0, rc, o + "\n" + err.toString(StandardCharsets.UTF_8));
            assertTrue(o.contains("VirtioUser0") && o.contains("workload: verify"), o);
            System.out.println(o);
        } finally {
            ustord.destroy();
            if (!ustord.waitFor(60, TimeUnit.SECONDS)) {
                ustord.destroyForcibly();
            }
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
