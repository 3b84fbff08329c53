package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Start, configure, restart and stop ustord as a process. */
class UstordLifecycleTest {
    @TempDir
    Path dir;

    @Test
    void badOptionsExitWithStatus2AndOneLineNamingThem() throws Exception {
        String[][] cases = {{"--bogus"}, {"-m", "0xZZ"}, {"-c", dir.resolve("missing.json").toString()},
                {"-s", "lots"}, {"-L", "nosuchcomponent"}, {"-m"}, {"extra-arg"}};
        String[] named = {"--bogus", "0xZZ", "missing.json", "lots", "nosuchcomponent", "-m", "extra-arg"};
        for (int i = 0; i < cases.length; i++) {
            DaemonProcess p = DaemonProcess.run("ustord", cases[i]);
            assertEquals(2, p.waitFor(), String.join(" ", cases[i]) + ": " + p.err());
            assertEquals(1, p.stderr.size(), p.err());
            assertTrue(p.err().contains(named[i]), p.err());
        }
        DaemonProcess help = DaemonProcess.run("ustord", "--help");
        assertEquals(0, help.waitFor());
        assertTrue(help.out().contains("--wait-for-rpc"));
    }

    @Test
    void saveConfigThenRestartWithItReproducesTheBdevs() throws Exception {
        Path socket = dir.resolve("a.sock");
        Path saved = dir.resolve("saved.json");
        Map<String, JsonNode> before = new HashMap<>();
        try (DaemonProcess d = DaemonProcess.startUstord(socket, "-c",
                DaemonProcess.defaultConfigOnFreePort(dir).toString())) {
            d.awaitReady();
            DaemonProcess p = DaemonProcess.run("ustor-rpc", "-s", socket.toString(), "bdev_malloc_create",
                    "-b", "MallocRt", "-u", "0b6e3a4c-2d6c-4a56-9a3e-5f5c1d2e3f40", "8", "4096");
            assertEquals(0, p.waitFor(), p.err());
            p = DaemonProcess.run("ustor-rpc", "-s", socket.toString(), "bdev_null_create", "NullRt", "32", "512");
            assertEquals(0, p.waitFor(), p.err());
            p = DaemonProcess.run("ustor-rpc", "-s", socket.toString(), "save_config");
            assertEquals(0, p.waitFor(), p.err());
            Files.writeString(saved, p.out());
            try (RawJsonClient c = new RawJsonClient(socket)) {
                for (JsonNode b : c.call(1, "bdev_get_bdevs", null).get("result")) {
                    before.put(b.get("name").asText(), b);
                }
            }
            d.terminate();
            assertEquals(0, d.waitFor(), d.err());
        }
        assertEquals(3, before.size(), before.keySet().toString());
        assertFalse(Files.exists(socket));

        try (DaemonProcess d = DaemonProcess.startUstord(socket, "-c", saved.toString())) {
            d.awaitReady();
            try (RawJsonClient c = new RawJsonClient(socket)) {
                JsonNode after = c.call(1, "bdev_get_bdevs", null).get("result");
                assertEquals(before.size(), after.size(), after.toString());
                for (JsonNode b : after) {
                    JsonNode was = before.get(b.get("name").asText());
                    assertNotNull(was, b.get("name").asText());
                    for (String f : new String[]{"uuid", "block_size", "num_blocks", "product_name"}) {
                        assertEquals(was.get(f), b.get(f), b.get("name").asText() + " " + f);
                    }
                }
                // And saving again gives the same config.
                JsonNode again = c.call(2, "save_config", null).get("result");
                assertEquals(RawJsonClient.MAPPER.readTree(Files.readString(saved)), again);
            }
            d.terminate();
            assertEquals(0, d.waitFor(), d.err());
        }
    }

    @Test
    void waitForRpcHoldsRuntimeMethodsUntilFrameworkStartInit() throws Exception {
        Path socket = dir.resolve("w.sock");
        try (DaemonProcess d = DaemonProcess.startUstord(socket, "--wait-for-rpc")) {
            assertTrue(d.awaitLine("ustord: waiting for framework_start_init"), d.out() + d.err());
            try (RawJsonClient c = new RawJsonClient(socket)) {
                JsonNode e = c.call(1, "bdev_get_bdevs", null).get("error");
                assertEquals(-1, e.get("code").asInt(), e.toString());
                JsonNode current = c.call(2, "rpc_get_methods", "{\"current\": true}").get("result");
                assertTrue(current.toString().contains("framework_start_init"));
                assertFalse(current.toString().contains("bdev_malloc_create"));
                assertTrue(c.call(3, "framework_start_init", null).get("result").asBoolean());
                assertTrue(c.call(4, "framework_wait_init", null).get("result").asBoolean());
                assertEquals(0, c.call(5, "bdev_get_bdevs", null).get("result").size(),
                        "no default config with --wait-for-rpc");
                assertEquals(-1, c.call(6, "framework_start_init", null).get("error").get("code").asInt());
            }
            d.awaitReady();
            d.terminate();
            assertEquals(0, d.waitFor(), d.err());
        }
    }

    @Test
    void spdkKillInstanceShutsDownGracefully() throws Exception {
        Path socket = dir.resolve("k.sock");
        try (DaemonProcess d = DaemonProcess.startUstord(socket, "-c",
                DaemonProcess.defaultConfigOnFreePort(dir).toString())) {
            d.awaitReady();
            DaemonProcess p = DaemonProcess.run("ustor-rpc", "-s", socket.toString(), "spdk_kill_instance", "SIGTERM");
            assertEquals(0, p.waitFor(), p.err());
            assertEquals(0, d.waitFor(), d.err());
            assertFalse(Files.exists(socket), "socket removed");
            assertTrue(d.out().contains("ustord: stopped"), d.out());
        }
    }

    @Test
    void aConfigThatFailsStopsTheDaemonWithStatus1() throws Exception {
        Path socket = dir.resolve("bad.sock");
        Path config = dir.resolve("bad.json");
        Files.writeString(config, "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":"
                + "\"bdev_malloc_create\",\"params\":{\"name\":\"X\",\"num_blocks\":8,\"block_size\":100}}]}]}");
        try (DaemonProcess d = DaemonProcess.startUstord(socket, "-c", config.toString())) {
            assertEquals(1, d.waitFor());
            assertTrue(d.err().contains("entry 0 (bdev_malloc_create)") && d.err().contains("block_size"), d.err());
            assertFalse(Files.exists(socket));
        }
    }

    @Test
    void socketInUseIsAStartupFailure() throws Exception {
        Path socket = dir.resolve("dup.sock");
        String config = DaemonProcess.defaultConfigOnFreePort(dir).toString();
        try (DaemonProcess first = DaemonProcess.startUstord(socket, "-c", config)) {
            first.awaitReady();
            DaemonProcess second = DaemonProcess.startUstord(socket, "-c", config);
            assertEquals(1, second.waitFor());
            assertTrue(second.err().contains("in use"), second.err());
            assertTrue(Files.exists(socket), "the first daemon's socket is untouched");
            first.terminate();
            assertEquals(0, first.waitFor());
        }
    }
}
