package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.Bdev;
import io.ustor.bdev.IoType;
import io.ustor.bdev.error.ErrorBdev;
import io.ustor.reactor.IdleMode;
import io.ustor.rpc.RpcException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The embedding API (what bdevperf uses): a runtime without an RPC socket, configured from SPDK JSON. */
class UstorRuntimeTest {
    @TempDir
    Path dir;
    UstorRuntime rt;

    @BeforeEach
    void start() throws Exception {
        rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true).withIdleMode(IdleMode.ADAPTIVE));
    }

    @AfterEach
    void stop() {
        rt.close();
    }

    private static JsonNode json(String s) throws Exception {
        return RawJsonClient.MAPPER.readTree(s);
    }

    @Test
    void loadsAnSpdkConfigAndSavesItBack() throws Exception {
        Path file = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(4 << 20);
        }
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"subsystems": [
                  {"subsystem": "accel", "config": null},
                  {"subsystem": "bdev", "config": [
                    {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 2048, "block_size": 4096,
                                                               "uuid": "913fc008-79a7-447f-b2c4-c73543638c31"}},
                    {"method": "bdev_null_create", "params": {"name": "Null0", "num_blocks": 1000, "block_size": 512}},
                    {"method": "bdev_aio_create", "params": {"name": "Aio0", "filename": "%s", "block_size": 512}},
                    {"method": "bdev_wait_for_examine"}
                  ]}
                ]}""".formatted(file));
        rt.loadConfig(config);
        Bdev m = rt.bdevs().lookup("Malloc0");
        assertEquals(2048, m.numBlocks());
        assertEquals(4096, m.blockSize());
        assertSame(m, rt.bdevs().lookup("913fc008-79a7-447f-b2c4-c73543638c31"));
        assertEquals("null", rt.bdevs().lookup("Null0").moduleName());
        Bdev aio = rt.bdevs().lookup("Aio0");
        assertEquals(8192, aio.numBlocks());

        ObjectNode saved = rt.saveConfig();
        JsonNode bdevConfig = null;
        for (JsonNode sub : saved.get("subsystems")) {
            if (sub.get("subsystem").asText().equals("bdev")) {
                bdevConfig = sub.get("config");
            }
        }
        assertNotNull(bdevConfig, saved.toString());
        assertEquals("bdev_malloc_create", bdevConfig.get(0).get("method").asText());
        assertEquals("913fc008-79a7-447f-b2c4-c73543638c31", bdevConfig.get(0).get("params").get("uuid").asText());
        assertEquals("bdev_null_create", bdevConfig.get(1).get("method").asText());
        JsonNode aioParams = bdevConfig.get(2).get("params");
        assertEquals(file.toString(), aioParams.get("filename").asText());
        assertEquals(512, aioParams.get("block_size").asInt());
        assertEquals("bdev_wait_for_examine", bdevConfig.get(3).get("method").asText());

        // The saved config recreates the same bdevs in a fresh runtime.
        rt.close();
        rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true).withIdleMode(IdleMode.ADAPTIVE));
        rt.loadConfig(saved);
        assertEquals(saved, rt.saveConfig());
    }

    @Test
    void configErrorsNameTheEntryAndKeepTheCode() throws Exception {
        RpcException e = assertThrows(RpcException.class, () -> rt.loadConfig(json("""
                {"subsystems": [{"subsystem": "bdev", "config": [
                  {"method": "bdev_malloc_create", "params": {"name": "A", "num_blocks": 8, "block_size": 512}},
                  {"method": "bdev_malloc_create", "params": {"name": "A", "num_blocks": 8, "block_size": 512}}
                ]}]}""")));
        assertEquals(-17, e.code());
        assertTrue(e.getMessage().contains("entry 1 (bdev_malloc_create)"), e.getMessage());

        e = assertThrows(RpcException.class, () -> rt.loadConfig(json("""
                {"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_frobnicate"}]}]}""")));
        assertEquals(RpcException.METHOD_NOT_FOUND, e.code());

        e = assertThrows(RpcException.class, () -> rt.loadConfig(json("""
                {"subsystems": [{"subsystem": "bdev", "config": [
                  {"method": "bdev_malloc_create", "params": {"num_blocks": 8, "block_size": 1000}}]}]}""")));
        assertEquals(-22, e.code(), e.getMessage());
    }

    @Test
    void rpcMethodsWorkInProcess() throws Exception {
        JsonNode name = rt.rpc().callAndWait("bdev_malloc_create", json("{\"num_blocks\": 16, \"block_size\": 512}"));
        assertEquals("Malloc0", name.asText(), "SPDK names unnamed malloc bdevs MallocN");
        assertTrue(rt.rpc().callAndWait("bdev_malloc_delete", json("{\"name\": \"Malloc0\"}")).asBoolean());
        assertNull(rt.bdevs().lookup("Malloc0"));
        RpcException e = assertThrows(RpcException.class,
                () -> rt.rpc().callAndWait("bdev_null_delete", json("{\"name\": \"Malloc0\"}")));
        assertEquals(-19, e.code());
        rt.rpc().callAndWait("bdev_malloc_create", json("{\"name\": \"M\", \"num_blocks\": 16, \"block_size\": 512}"));
        e = assertThrows(RpcException.class,
                () -> rt.rpc().callAndWait("bdev_null_delete", json("{\"name\": \"M\"}")));
        assertEquals(-19, e.code(), "a malloc bdev is not deleted by bdev_null_delete");
        e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_malloc_create",
                json("{\"name\": \"Md\", \"num_blocks\": 16, \"block_size\": 512, \"md_size\": 8}")));
        assertEquals(RpcException.INVALID_PARAMS, e.code());
        assertTrue(e.getMessage().contains("md_size"));
        e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_aio_create",
                json("{\"name\": \"A\", \"filename\": \"" + dir.resolve("nope") + "\"}")));
        assertEquals(-2, e.code(), e.getMessage());
        JsonNode waited = rt.rpc().callAndWait("bdev_get_bdevs", json("{\"name\": \"M\", \"timeout\": 100}"));
        assertEquals("M", waited.get(0).get("name").asText());
        e = assertThrows(RpcException.class,
                () -> rt.rpc().callAndWait("bdev_get_bdevs", json("{\"name\": \"Later\", \"timeout\": 50}")));
        assertEquals(-19, e.code());
    }

    @Test
    void physicalBlockSizeIsKeptAndSaved() throws Exception {
        for (String module : new String[]{"malloc", "null"}) {
            String p = module + "P";
            rt.rpc().callAndWait("bdev_" + module + "_create", json("{\"name\": \"" + p
                    + "\", \"num_blocks\": 64, \"block_size\": 512, \"physical_block_size\": 4096}"));
            assertEquals(4096, rt.bdevs().lookup(p).physicalBlockSize(), module);
            RpcException e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_" + module + "_create",
                    json("{\"name\": \"Q\", \"num_blocks\": 64, \"block_size\": 4096, \"physical_block_size\": 512}")));
            assertEquals(RpcException.INVALID_PARAMS, e.code());
            assertTrue(e.getMessage().contains("multiple of block_size"), e.getMessage());
        }
        JsonNode saved = rt.saveConfig();
        for (String method : new String[]{"bdev_malloc_create", "bdev_null_create"}) {
            JsonNode params = null;
            for (JsonNode call : saved.findValues("config")) {
                for (JsonNode c : call) {
                    if (method.equals(c.path("method").asText())) {
                        params = c.get("params");
                    }
                }
            }
            assertTrue(params != null && params.path("physical_block_size").asInt() == 4096, saved.toString());
        }
    }

    @Test
    void splitBdevMethodsSaveAndReload() throws Exception {
        rt.rpc().callAndWait("bdev_malloc_create", json("{\"name\": \"Big\", \"num_blocks\": 8192, \"block_size\": 512}"));
        JsonNode names = rt.rpc().callAndWait("bdev_split_create",
                json("{\"base_bdev\": \"Big\", \"split_count\": 2}"));
        assertEquals("[\"Bigp0\",\"Bigp1\"]", names.toString());
        assertEquals(4096, rt.bdevs().lookup("Bigp1").numBlocks());
        RpcException e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_split_create",
                json("{\"base_bdev\": \"Nope\", \"split_count\": 2}")));
        assertEquals(-19, e.code(), e.getMessage());
        e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_split_create",
                json("{\"base_bdev\": \"Big\", \"split_count\": 2, \"split\": 1}")));
        assertEquals(RpcException.INVALID_PARAMS, e.code());

        ObjectNode saved = rt.saveConfig();
        String text = saved.toString();
        assertTrue(text.indexOf("bdev_split_create") > text.indexOf("\"Big\""), text);
        assertEquals(text.indexOf("bdev_split_create"), text.lastIndexOf("bdev_split_create"), "one call for both parts");
        rt.close();
        rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true).withIdleMode(IdleMode.ADAPTIVE));
        rt.loadConfig(saved);
        assertEquals(4096, rt.bdevs().lookup("Bigp0").numBlocks());
        assertEquals(Boolean.TRUE, rt.rpc().callAndWait("bdev_split_delete", json("{\"base_bdev\": \"Big\"}"))
                .booleanValue());
        assertNull(rt.bdevs().lookup("Bigp1"));
        e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_split_delete",
                json("{\"base_bdev\": \"Big\"}")));
        assertEquals(-19, e.code(), e.getMessage());
    }

    @Test
    void errorBdevMethodsWithSpdksParameters() throws Exception {
        rt.rpc().callAndWait("bdev_malloc_create", json("{\"name\": \"Disk\", \"num_blocks\": 64, \"block_size\": 512}"));
        assertEquals("EE_Disk", rt.rpc().callAndWait("bdev_error_create", json("{\"base_name\": \"Disk\"}")).asText());
        rt.rpc().callAndWait("bdev_error_inject_error", json("{\"name\": \"EE_Disk\", \"io_type\": \"read\", "
                + "\"error_type\": \"failure\", \"num\": 3, \"queue_depth\": 0}"));
        assertEquals(3, ((ErrorBdev) rt.bdevs().lookup("EE_Disk")).remaining(IoType.READ));
        rt.rpc().callAndWait("bdev_error_inject_error", json("{\"name\": \"EE_Disk\", \"io_type\": \"clear\", "
                + "\"error_type\": \"failure\"}"));
        assertEquals(0, ((ErrorBdev) rt.bdevs().lookup("EE_Disk")).remaining(IoType.READ));
        assertEquals(true, rt.rpc().callAndWait("bdev_error_resume_pending", json("{\"name\": \"EE_Disk\"}"))
                .booleanValue());
        for (String bad : new String[]{"{\"name\": \"EE_Disk\", \"io_type\": \"compare\", \"error_type\": \"failure\"}",
                "{\"name\": \"EE_Disk\", \"io_type\": \"read\", \"error_type\": \"nvme_failure\"}",
                "{\"name\": \"EE_Disk\", \"io_type\": \"read\", \"error_type\": \"corrupt_data\"}",
                "{\"name\": \"EE_Disk\", \"io_type\": \"read\", \"error_type\": \"failure\", \"bogus\": 1}"}) {
            RpcException e = assertThrows(RpcException.class,
                    () -> rt.rpc().callAndWait("bdev_error_inject_error", json(bad)), bad);
            assertEquals(RpcException.INVALID_PARAMS, e.code(), bad + ": " + e.getMessage());
        }
        RpcException e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_error_inject_error",
                json("{\"name\": \"Disk\", \"io_type\": \"read\", \"error_type\": \"failure\"}")));
        assertEquals(-19, e.code(), "not an error bdev");

        ObjectNode saved = rt.saveConfig();
        assertTrue(saved.toString().contains("\"bdev_error_create\""), saved.toString());
        rt.close();
        rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true).withIdleMode(IdleMode.ADAPTIVE));
        rt.loadConfig(saved);
        assertEquals("error", rt.bdevs().lookup("Disk").claimedBy());
        rt.rpc().callAndWait("bdev_error_delete", json("{\"name\": \"EE_Disk\"}"));
        assertNull(rt.bdevs().lookup("EE_Disk"));
    }

    @Test
    void delayBdevMethodsWithSpdksParameters() throws Exception {
        rt.rpc().callAndWait("bdev_malloc_create", json("{\"name\": \"Slow\", \"num_blocks\": 64, \"block_size\": 512}"));
        JsonNode name = rt.rpc().callAndWait("bdev_delay_create", json("""
                {"base_bdev_name": "Slow", "name": "Delay0", "avg_read_latency": 100, "p99_read_latency": 200,
                 "avg_write_latency": 300, "p99_write_latency": 400}"""));
        assertEquals("Delay0", name.asText());
        JsonNode d = rt.rpc().callAndWait("bdev_get_bdevs", json("{\"name\": \"Delay0\"}")).get(0);
        assertEquals(64, d.get("num_blocks").asLong());
        assertEquals("Slow", d.get("driver_specific").get("delay").get("base_bdev_name").asText());
        assertTrue(rt.rpc().callAndWait("bdev_delay_update_latency", json("""
                {"delay_bdev_name": "Delay0", "latency_type": "p99_write", "latency_us": 900}""")).asBoolean());
        RpcException e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_delay_update_latency",
                json("{\"delay_bdev_name\": \"Delay0\", \"latency_type\": \"p50\", \"latency_us\": 1}")));
        assertEquals(RpcException.INVALID_PARAMS, e.code(), e.getMessage());
        e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait("bdev_delay_create", json("""
                {"base_bdev_name": "Slow", "name": "Delay1", "avg_read_latency": 1, "p99_read_latency": 1,
                 "avg_write_latency": 1, "p99_write_latency": 1}""")));
        assertEquals(-1, e.code(), "the base is claimed: " + e.getMessage());

        String saved = rt.rpc().callAndWait("save_config", json("{}")).toString();
        assertTrue(saved.contains("\"method\":\"bdev_delay_create\""), saved);
        assertTrue(saved.contains("\"p99_write_latency\":900"), saved);
        assertTrue(saved.indexOf("\"name\":\"Slow\"") < saved.indexOf("\"name\":\"Delay0\""),
                "the base is created before the delay bdev: " + saved);

        assertTrue(rt.rpc().callAndWait("bdev_delay_delete", json("{\"name\": \"Delay0\"}")).asBoolean());
        assertFalse(rt.bdevs().lookup("Slow").claimed());
    }

    @Test
    void getBdevsWaitsForABdevThatAppears() throws Exception {
        var pending = rt.rpc().call("bdev_get_bdevs", json("{\"name\": \"Late\", \"timeout\": 60000}"));
        rt.rpc().callAndWait("bdev_null_create", json("{\"name\": \"Late\", \"num_blocks\": 8, \"block_size\": 512}"));
        assertEquals("Late", pending.get().get(0).get("name").asText());
    }
}
