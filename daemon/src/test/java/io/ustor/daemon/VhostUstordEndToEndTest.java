package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One ustor consumes another's disk: ustord A ({@code -S DIR}) serves a RAM bdev as vhost-user-blk controller
 * vhost.0 from its JSON config; ustord B attaches to that socket with bin/ustor-rpc bdev_virtio_attach_controller
 * (rpc.py's form); an embedded runtime runs I/O through it (bdevperf's verify through it is perf's
 * BdevperfOverVhostTest); A's save_config names the
 * controller and a fresh ustord recreates it from that file. The methods run in order on the same daemon A.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VhostUstordEndToEndTest {
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 8192;
    static Path dir;
    static Path sockDir;
    static Path vhostSocket;
    static Path socketA;
    static DaemonProcess a;

    @BeforeAll
    static void startServingDaemon() throws Exception {
        dir = Files.createTempDirectory("ustord-vhost");
        sockDir = Files.createDirectory(dir.resolve("vhost"));
        vhostSocket = sockDir.resolve("vhost.0");
        socketA = dir.resolve("a.sock");
        Path config = dir.resolve("a.json");
        Files.writeString(config, """
                {"subsystems": [
                  {"subsystem": "bdev", "config": [
                    {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": %d, "block_size": %d}}
                  ]},
                  {"subsystem": "vhost_blk", "config": [
                    {"method": "vhost_create_blk_controller", "params": {"ctrlr": "vhost.0", "dev_name": "Malloc0"}}
                  ]}
                ]}""".formatted(BLOCKS, BLOCK));
        a = DaemonProcess.startUstord(socketA, "-S", sockDir.toString(), "-c", config.toString());
        a.awaitReady();
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
    }

    private static DaemonProcess rpc(Path socket, String... args) throws Exception {
        String[] all = new String[args.length + 2];
        all[0] = "-s";
        all[1] = socket.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        DaemonProcess p = DaemonProcess.run("ustor-rpc", all);
        assertEquals(0, p.waitFor(), "ustor-rpc " + String.join(" ", args) + ": " + p.err());
        return p;
    }

    private static JsonNode rpcJson(Path socket, String... args) throws Exception {
        return RawJsonClient.MAPPER.readTree(rpc(socket, args).out());
    }

    private static String attachConfig(String name) {
        return """
                {"subsystems": [{"subsystem": "bdev", "config": [
                  {"method": "bdev_virtio_attach_controller", "params": {"name": "%s", "trtype": "user",
                   "traddr": "%s", "dev_type": "blk", "vq_count": 1, "vq_size": 128}}
                ]}]}""".formatted(name, vhostSocket);
    }

    @Test
    @Order(1)
    void ustordServesTheControllerFromItsSocketDirectory() throws Exception {
        assertTrue(a.out().contains("vhost_blk (vhost.0 -> bdev Malloc0; sockets in " + sockDir + ")"),
                "the startup summary lists the controller under front ends:\n" + a.out());
        assertTrue(Files.exists(vhostSocket), "the controller's socket is in the -S directory");
        JsonNode c = rpcJson(socketA, "vhost_get_controllers", "-n", "vhost.0");
        assertEquals(1, c.size());
        assertEquals("vhost.0", c.get(0).get("ctrlr").asText());
        assertEquals(vhostSocket.toString(), c.get(0).get("socket").asText());
        assertEquals("Malloc0", c.get(0).get("backend_specific").get("block").get("bdev").asText());

        // rpc.py's create/delete forms, on a second (read-only) controller of the same bdev
        rpc(socketA, "vhost_create_blk_controller", "--cpumask", "0x1", "-r", "vhost.ro", "Malloc0");
        JsonNode ro = rpcJson(socketA, "vhost_get_controllers", "-n", "vhost.ro");
        assertTrue(ro.get(0).get("backend_specific").get("block").get("readonly").asBoolean());
        assertTrue(Files.exists(sockDir.resolve("vhost.ro")));
        rpc(socketA, "vhost_delete_controller", "vhost.ro");
        assertFalse(Files.exists(sockDir.resolve("vhost.ro")), "deleting a controller removes its socket");
        assertEquals(1, rpcJson(socketA, "vhost_get_controllers").size());
    }

    @Test
    @Order(2)
    void aSecondUstordAttachesWithTheRpcPyCommandLine() throws Exception {
        Path socketB = dir.resolve("b.sock");
        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "{\"subsystems\": []}");
        try (DaemonProcess b = DaemonProcess.startUstord(socketB, "-c", empty.toString())) {
            b.awaitReady();
            DaemonProcess attach = rpc(socketB, "bdev_virtio_attach_controller", "-t", "user", "-a",
                    vhostSocket.toString(), "-d", "blk", "--vq-count", "1", "--vq-size", "128", "VirtioUser0");
            assertEquals("VirtioUser0", attach.out().strip(), "rpc.py prints the new bdev names");
            JsonNode bdev = rpcJson(socketB, "bdev_get_bdevs", "-b", "VirtioUser0").get(0);
            assertEquals(BLOCKS, bdev.get("num_blocks").asLong());
            assertEquals(BLOCK, bdev.get("block_size").asInt());
            assertEquals(1, rpcJson(socketA, "vhost_get_controllers", "-n", "vhost.0").get(0).get("sessions").asInt(),
                    "A sees B connected");

            JsonNode saved = rpcJson(socketB, "save_config");
            assertTrue(saved.toString().contains("\"method\":\"bdev_virtio_attach_controller\""), saved.toString());
            assertTrue(saved.toString().contains("\"traddr\":\"" + vhostSocket + "\""), saved.toString());

            rpc(socketB, "bdev_virtio_detach_controller", "VirtioUser0");
            DaemonProcess gone = DaemonProcess.run("ustor-rpc", "-s", socketB.toString(), "bdev_get_bdevs", "-b",
                    "VirtioUser0");
            assertNotEquals(0, gone.waitFor(), "detached: " + gone.out());
            b.terminate();
            assertEquals(0, b.waitFor(), b.err());
        }
        // A is free for the next front end
        for (int i = 0; i < 100 && rpcJson(socketA, "vhost_get_controllers").get(0).get("sessions").asInt() != 0; i++) {
            Thread.sleep(100);
        }
        assertEquals(0, rpcJson(socketA, "vhost_get_controllers").get(0).get("sessions").asInt());
    }

    @Test
    @Order(3)
    void dataWrittenThroughTheVirtioBdevLandsOnTheOtherDaemonsDisk() throws Exception {
        long writtenBefore = rpcJson(socketA, "bdev_get_iostat", "-b", "Malloc0").get("bdevs").get(0)
                .get("bytes_written").asLong();
        int ioBlocks = 16;
        long[] offsets = {0, 1234, BLOCKS - ioBlocks};
        try (UstorRuntime rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true)
                .withIdleMode(IdleMode.ADAPTIVE)); Arena arena = Arena.ofShared()) {
            rt.loadConfig(RawJsonClient.MAPPER.readTree(attachConfig("VirtioUser0")));
            Bdev bdev = rt.bdevs().lookup("VirtioUser0");
            assertEquals("virtio_blk", bdev.moduleName());
            Reactor r = rt.reactors().reactor(0);
            Random rnd = new Random(7);
            try (BdevDesc d = rt.bdevs().open("VirtioUser0", true, (t, x) -> { })) {
                MemorySegment[] data = new MemorySegment[offsets.length];
                for (int i = 0; i < offsets.length; i++) {
                    data[i] = arena.allocate((long) ioBlocks * BLOCK, BLOCK);
                    for (long b = 0; b < data[i].byteSize(); b += 8) {
                        data[i].set(ValueLayout.JAVA_LONG_UNALIGNED, b, rnd.nextLong());
                    }
                    MemorySegment buf = data[i];
                    long off = offsets[i];
                    assertEquals(0, io(r, d, (ch, cb) -> d.write(ch, buf, off, ioBlocks, cb, null)));
                }
                for (int i = 0; i < offsets.length; i++) {
                    MemorySegment back = arena.allocate((long) ioBlocks * BLOCK, BLOCK);
                    long off = offsets[i];
                    assertEquals(0, io(r, d, (ch, cb) -> d.read(ch, back, off, ioBlocks, cb, null)));
                    assertEquals(-1, data[i].mismatch(back), "data read back at block " + off);
                }
            }
        }
        long writtenAfter = rpcJson(socketA, "bdev_get_iostat", "-b", "Malloc0").get("bdevs").get(0)
                .get("bytes_written").asLong();
        assertEquals((long) offsets.length * ioBlocks * BLOCK, writtenAfter - writtenBefore,
                "the writes went to A's Malloc0");
    }

    @Test
    @Order(5)
    void saveConfigNamesTheControllerAndARestartedUstordServesItsClientsAgain() throws Exception {
        Path saved = dir.resolve("saved.json");
        Files.writeString(saved, rpc(socketA, "save_config").out());
        JsonNode cfg = RawJsonClient.MAPPER.readTree(saved.toFile());
        JsonNode vhost = null;
        for (JsonNode s : cfg.get("subsystems")) {
            if (s.get("subsystem").asText().equals("vhost_blk")) {
                vhost = s.get("config");
            }
        }
        assertNotNull(vhost, cfg.toString());
        assertEquals("vhost_create_blk_controller", vhost.get(0).get("method").asText());
        assertEquals("vhost.0", vhost.get(0).get("params").get("ctrlr").asText());
        assertEquals("Malloc0", vhost.get(0).get("params").get("dev_name").asText());

        try (UstorRuntime rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true)
                .withIdleMode(IdleMode.ADAPTIVE)); Arena arena = Arena.ofShared()) {
            // A client attached through the RPC method stays attached while ustord A is killed and restarted.
            rt.loadConfig(RawJsonClient.MAPPER.readTree(attachConfig("VirtioUser1")));
            Bdev bdev = rt.bdevs().lookup("VirtioUser1");
            var client = ((io.ustor.vhost.VirtioUserBlkBdev) bdev).client();
            a.process.destroyForcibly(); // SIGKILL: the sockets stay behind as stale files
            a.waitFor();
            Path socketA2 = dir.resolve("a2.sock");
            a = DaemonProcess.startUstord(socketA2, "-S", sockDir.toString(), "-c", saved.toString());
            a.awaitReady();
            assertEquals(cfg, rpcJson(socketA2, "save_config"), "the restarted daemon saves the same config");
            for (int i = 0; i < 600 && client.reconnects() == 0; i++) { // a cap for a loaded machine
                Thread.sleep(100);
            }
            assertEquals(1, client.reconnects(), "the virtio bdev reconnected to the restarted ustord");
            try (BdevDesc d = rt.bdevs().open("VirtioUser1", true, (t, x) -> { })) {
                Reactor r = rt.reactors().reactor(0);
                MemorySegment buf = arena.allocate(BLOCK, BLOCK);
                buf.fill((byte) 0x5a);
                assertEquals(0, io(r, d, (ch, cb) -> d.read(ch, buf, 0, 1, cb, null)));
                assertEquals(-1, buf.mismatch(arena.allocate(BLOCK)), "the restarted RAM disk reads zeroes");
                MemorySegment data = arena.allocate(BLOCK, BLOCK);
                data.fill((byte) 0x33);
                assertEquals(0, io(r, d, (ch, cb) -> d.write(ch, data, 7, 1, cb, null)));
                assertEquals(0, io(r, d, (ch, cb) -> d.read(ch, buf, 7, 1, cb, null)));
                assertEquals(-1, data.mismatch(buf));
            }
            assertEquals(1, rpcJson(socketA2, "vhost_get_controllers", "-n", "vhost.0").get(0).get("sessions").asInt());
        }
    }

    private interface Op {
        int start(BdevChannel ch, BdevIoCallback cb);
    }

    /** One I/O on the reactor, waited for: 0 or the errno / submit rc. */
    private static int io(Reactor r, BdevDesc d, Op op) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        BdevIoCallback cb = (io, ok, arg) -> done.complete(ok ? 0 : Math.max(1, io.errno()));
        int rc = r.call(() -> {
            BdevChannel ch = d.getIoChannel();
            done.whenComplete((v, t) -> r.submit(() -> d.putIoChannel(ch)));
            int x = op.start(ch, cb);
            if (x != 0) {
                done.complete(x);
            }
            return x;
        }).get(30, TimeUnit.SECONDS);
        int result = done.get(60, TimeUnit.SECONDS);
        return rc != 0 ? rc : result;
    }
}
