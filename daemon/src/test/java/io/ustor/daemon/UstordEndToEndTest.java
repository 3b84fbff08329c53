package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One ustord process on the default config (its iSCSI portal moved to a free port), driven over its real socket with bin/ustor-rpc (rpc.py's command
 * line) and with raw JSON written the way rpc.py writes it.
 */
class UstordEndToEndTest {
    static Path dir;
    static Path socket;
    static DaemonProcess daemon;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ustord-e2e");
        socket = dir.resolve("ustor.sock");
        daemon = DaemonProcess.startUstord(socket, "-c", DaemonProcess.defaultConfigOnFreePort(dir).toString());
        daemon.awaitReady();
    }

    @AfterAll
    static void stop() throws Exception {
        if (daemon != null) {
            daemon.terminate();
            assertEquals(0, daemon.waitFor(), daemon.err());
            assertFalse(Files.exists(socket), "socket removed on shutdown");
        }
    }

    private static DaemonProcess rpc(String... args) throws IOException {
        String[] all = new String[args.length + 2];
        all[0] = "-s";
        all[1] = socket.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return DaemonProcess.run("ustor-rpc", all);
    }

    @Test
    void startupSummaryNamesWhatItServes() {
        String out = daemon.out();
        assertTrue(out.contains("cores:      0x1"), out);
        assertTrue(out.contains("memory:     ordinary locked memory, not DMA-capable: --no-huge given"), out);
        assertTrue(out.contains("bdevs:      Malloc0 (malloc, 64 MiB, 512 B blocks)"), out);
        assertTrue(out.contains("RPC socket: " + socket), out);
    }

    @Test
    void defaultConfigServesMalloc0() throws Exception {
        try (RawJsonClient c = new RawJsonClient(socket)) {
            JsonNode r = c.call(1, "bdev_get_bdevs", "{\"name\": \"Malloc0\"}").get("result");
            assertEquals(1, r.size());
            assertEquals("Malloc0", r.get(0).get("name").asText());
            assertEquals(512, r.get(0).get("block_size").asInt());
            assertEquals(131072, r.get(0).get("num_blocks").asLong());
            assertEquals("Malloc disk", r.get(0).get("product_name").asText());
        }
    }

    @Test
    void ustorRpcCreatesShowsAndDeletesBdevsWithRpcPyArguments() throws Exception {
        DaemonProcess p = rpc("bdev_malloc_create", "-b", "MallocCli", "64", "512");
        assertEquals(0, p.waitFor(), p.err());
        assertEquals("MallocCli", p.out().trim(), "rpc.py prints the new name without quotes");

        p = rpc("bdev_get_bdevs", "-b", "MallocCli");
        assertEquals(0, p.waitFor(), p.err());
        JsonNode shown = RawJsonClient.MAPPER.readTree(p.out());
        assertEquals(131072, shown.get(0).get("num_blocks").asLong(), "64 MiB of 512 B blocks");
        assertTrue(p.out().contains("\n  {\n    \"name\": \"MallocCli\","), "printed like rpc.py:\n" + p.out());

        p = rpc("bdev_malloc_create", "-b", "MallocCli", "64", "512");
        assertEquals(1, p.waitFor());
        assertTrue(p.err().contains("\"code\": -17"), p.err());

        p = rpc("bdev_null_create", "NullCli", "16", "4096");
        assertEquals(0, p.waitFor(), p.err());
        assertEquals("NullCli", p.out().trim());

        p = rpc("bdev_malloc_delete", "MallocCli");
        assertEquals(0, p.waitFor(), p.err());
        assertEquals("", p.out().trim(), "delete prints nothing, like rpc.py");
        p = rpc("bdev_null_delete", "NullCli");
        assertEquals(0, p.waitFor(), p.err());

        p = rpc("bdev_get_bdevs", "-b", "MallocCli");
        assertEquals(1, p.waitFor());
        assertTrue(p.err().contains("\"code\": -19"), p.err());
    }

    @Test
    void aioBdevOverAFile() throws Exception {
        Path img = dir.resolve("aio.img");
        try (var f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8 << 20);
        }
        DaemonProcess p = rpc("bdev_aio_create", img.toString(), "AioCli", "4096");
        assertEquals(0, p.waitFor(), p.err());
        assertEquals("AioCli", p.out().trim());
        try (RawJsonClient c = new RawJsonClient(socket)) {
            JsonNode b = c.call(1, "bdev_get_bdevs", "{\"name\": \"AioCli\"}").get("result").get(0);
            assertEquals(2048, b.get("num_blocks").asLong());
            assertEquals(img.toString(), b.get("driver_specific").get("aio").get("filename").asText());
            JsonNode cfg = c.call(2, "framework_get_config", "{\"name\": \"bdev\"}").get("result");
            assertTrue(cfg.toString().contains("\"bdev_aio_create\""), cfg.toString());
        }
        p = rpc("bdev_aio_delete", "AioCli");
        assertEquals(0, p.waitFor(), p.err());
    }

    @Test
    void ustorRpcHelpAndUsageErrors() throws Exception {
        DaemonProcess p = rpc("bdev_malloc_create", "--help");
        assertEquals(0, p.waitFor(), p.err());
        assertTrue(p.out().contains("total_size") && p.out().contains("--name"), p.out());
        p = rpc("bdev_malloc_create", "-b", "X", "sixty", "512");
        assertEquals(2, p.waitFor());
        assertTrue(p.err().contains("sixty"), p.err());
        p = rpc("no_such_method");
        assertEquals(2, p.waitFor());
    }

    @Test
    void rawJsonAsRpcPySendsIt() throws Exception {
        try (RawJsonClient c = new RawJsonClient(socket)) {
            // Two requests in one write, no delimiter; then a batch with a notification.
            c.send("{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":1}"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"rpc_get_methods\",\"id\":2}");
            JsonNode v = c.next();
            assertEquals(1, v.get("id").asInt());
            assertTrue(v.get("result").get("version").asText().startsWith("ustor v"));
            assertTrue(v.get("result").get("fields").has("major"));
            JsonNode methods = c.next().get("result");
            for (String m : new String[]{"bdev_malloc_create", "bdev_null_delete", "bdev_aio_create", "save_config",
                    "framework_get_reactors", "thread_get_stats", "bdev_get_iostat", "bdev_wait_for_examine"}) {
                assertTrue(methods.toString().contains("\"" + m + "\""), m);
            }
            c.send("[{\"jsonrpc\":\"2.0\",\"method\":\"bdev_wait_for_examine\",\"id\":3},"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"bdev_wait_for_examine\"},"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"framework_get_reactors\",\"id\":4}]");
            JsonNode batch = c.next();
            assertEquals(2, batch.size(), batch.toString());
            assertTrue(batch.get(0).get("result").asBoolean());
            assertEquals(1, batch.get(1).get("result").get("reactors").size());

            JsonNode e = c.call(5, "bdev_get_nothing", null).get("error");
            assertEquals(-32601, e.get("code").asInt());
            e = c.call(6, "bdev_malloc_create", "{\"name\": \"M\", \"block_size\": 512}").get("error");
            assertEquals(-32602, e.get("code").asInt());
            assertTrue(e.get("message").asText().contains("num_blocks"), e.toString());
            e = c.call(7, "bdev_malloc_create", "{\"num_blocks\": 8, \"block_size\": \"big\"}").get("error");
            assertTrue(e.get("message").asText().contains("block_size"), e.toString());

            c.send("{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":8,}");
            e = c.next().get("error");
            assertEquals(-32700, e.get("code").asInt());
            assertNull(c.next(), "a parse error closes the connection");
        }
    }

    @Test
    void clientVanishingMidRequestLeavesTheDaemonServing() throws Exception {
        RawJsonClient gone = new RawJsonClient(socket);
        gone.send("{\"jsonrpc\":\"2.0\",\"method\":\"bdev_malloc_create\",\"id\":1,\"params\":{\"name\":\"Hal");
        gone.close();
        RawJsonClient goneAfterSending = new RawJsonClient(socket);
        goneAfterSending.send("{\"jsonrpc\":\"2.0\",\"method\":\"bdev_null_create\",\"id\":1,"
                + "\"params\":{\"name\":\"Orphan\",\"num_blocks\":64,\"block_size\":512}}");
        goneAfterSending.close();
        try (RawJsonClient c = new RawJsonClient(socket)) {
            JsonNode r = c.call(2, "bdev_get_bdevs", "{\"name\": \"Orphan\", \"timeout\": 5000}");
            assertEquals("Orphan", r.get("result").get(0).get("name").asText(),
                    "the orphaned request still ran; its answer was dropped");
            assertTrue(c.call(3, "bdev_null_delete", "{\"name\": \"Orphan\"}").get("result").asBoolean());
            assertEquals(-19, c.call(4, "bdev_get_bdevs", "{\"name\": \"Hal\"}").get("error").get("code").asInt());
        }
    }

    @Test
    void manyClientsAtOnce() throws Exception {
        int clients = 16;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
        try {
            java.util.List<java.util.concurrent.Future<Integer>> results = new java.util.ArrayList<>();
            for (int t = 0; t < clients; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    int ok = 0;
                    try (RawJsonClient c = new RawJsonClient(socket)) {
                        String name = "Par" + id;
                        if (c.call(1, "bdev_null_create", "{\"name\": \"" + name
                                + "\", \"num_blocks\": 64, \"block_size\": 512}").has("result")) {
                            ok++;
                        }
                        for (int i = 0; i < 10; i++) {
                            JsonNode r = c.call(2 + i, "bdev_get_bdevs", "{\"name\": \"" + name + "\"}");
                            if (r.get("id").asInt() == 2 + i && r.get("result").get(0).get("name").asText().equals(name)) {
                                ok++;
                            }
                        }
                        if (c.call(20, "bdev_null_delete", "{\"name\": \"" + name + "\"}").get("result").asBoolean()) {
                            ok++;
                        }
                    }
                    return ok;
                }));
            }
            for (var f : results) {
                assertEquals(12, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void logMethodsInSpdksNames() throws Exception {
        try (RawJsonClient c = new RawJsonClient(socket)) {
            assertTrue(c.call(1, "log_set_flag", "{\"flag\": \"iscsi\"}").get("result").asBoolean());
            JsonNode flags = c.call(2, "log_get_flags", null).get("result");
            assertTrue(flags.get("iscsi").asBoolean(), flags.toString());
            assertFalse(flags.get("bdev").asBoolean(), flags.toString());
            c.call(3, "log_clear_flag", "{\"flag\": \"all\"}");
            assertFalse(c.call(4, "log_get_flags", null).get("result").get("iscsi").asBoolean());
            JsonNode e = c.call(5, "log_set_flag", "{\"flag\": \"nvmf\"}").get("error");
            assertEquals(-32602, e.get("code").asInt(), e.toString());
            assertEquals("INFO", c.call(6, "log_get_level", null).get("result").asText());
            c.call(7, "log_set_level", "{\"level\": \"WARNING\"}");
            assertEquals("WARNING", c.call(8, "log_get_level", null).get("result").asText());
            c.call(9, "log_set_print_level", "{\"level\": \"ERROR\"}");
            assertEquals("ERROR", c.call(10, "log_get_print_level", null).get("result").asText());
            e = c.call(11, "log_set_level", "{\"level\": \"LOUD\"}").get("error");
            assertEquals(-32602, e.get("code").asInt(), e.toString());
            c.call(12, "log_set_level", "{\"level\": \"INFO\"}");
            c.call(13, "log_set_print_level", "{\"level\": \"INFO\"}");
        }
    }

    @Test
    void statsMethodsAnswerInSpdkShape() throws Exception {
        try (RawJsonClient c = new RawJsonClient(socket)) {
            JsonNode t = c.call(1, "thread_get_stats", null).get("result");
            assertEquals(1_000_000_000L, t.get("tick_rate").asLong());
            assertTrue(t.get("threads").get(0).has("busy"));
            JsonNode io = c.call(2, "bdev_get_iostat", "{\"names\": [\"Malloc0\"]}").get("result");
            assertEquals("Malloc0", io.get("bdevs").get(0).get("name").asText());
            assertTrue(io.get("bdevs").get(0).has("num_read_ops"));
            JsonNode subs = c.call(3, "framework_get_subsystems", null).get("result");
            List<String> names = new ArrayList<>();
            subs.forEach(x -> names.add(x.get("subsystem").asText()));
            // SPDK's order: the settings-only subsystems, then bdev, then what depends on it.
            assertEquals(List.of("keyring", "iobuf", "sock", "accel", "bdev"), names.subList(0, 5), names.toString());
            JsonNode cfg = c.call(4, "framework_get_config", "{\"name\": \"bdev\"}").get("result");
            assertEquals("bdev_malloc_create", cfg.get(0).get("method").asText());
        }
    }
}
