package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.config.JsonConfigLoader;
import io.ustor.env.IoBufferPoolOptions;
import io.ustor.env.net.SocketBuffers;
import io.ustor.reactor.IdleMode;
import io.ustor.rpc.RpcException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A config as SPDK's save_config writes it (settings subsystems, bdev module options, scsi, iscsi) loads into
 * ustor: the settings ustor has are applied (iobuf and the bdev layer's iobuf caches size the buffer pool), the
 * others are checked and kept, and save_config writes them back so the round trip is loss-free.
 */
class SpdkSavedConfigTest {
    private final List<UstorRuntime> runtimes = new ArrayList<>();

    @AfterEach
    void stop() {
        runtimes.forEach(UstorRuntime::close);
    }

    private UstorRuntime start(boolean startup) throws Exception {
        UstorRuntime rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true)
                .withIdleMode(IdleMode.ADAPTIVE).withWaitForRpc(startup));
        runtimes.add(rt);
        return rt;
    }

    private static JsonNode savedBySpdk() throws Exception {
        try (InputStream in = SpdkSavedConfigTest.class.getResourceAsStream("/spdk-saved-config.json")) {
            return RawJsonClient.MAPPER.readTree(in);
        }
    }

    private static JsonNode json(String s) throws Exception {
        return RawJsonClient.MAPPER.readTree(s);
    }

    /** The params of {@code method} in a saved config, or null. */
    private static JsonNode params(JsonNode config, String subsystem, String method) {
        for (JsonNode s : config.get("subsystems")) {
            if (s.path("subsystem").asText().equals(subsystem)) {
                for (JsonNode c : s.path("config")) {
                    if (c.path("method").asText().equals(method)) {
                        return c.get("params");
                    }
                }
            }
        }
        return null;
    }

    @Test
    void loadsAtStartupAppliesWhatUstorHasAndSavesItBack() throws Exception {
        UstorRuntime rt = start(true);
        JsonConfigLoader.apply(rt.rpc(), savedBySpdk(), "spdk-saved-config.json", true);

        IoBufferPoolOptions pool = rt.bufferOptions();
        assertEquals(4096, pool.smallPoolCount());
        assertEquals(512, pool.largePoolCount());
        assertEquals(135168, pool.largeBufferSize());
        assertEquals(64, pool.smallCacheSize(), "bdev_set_options iobuf_small_cache_size");
        assertEquals(8, pool.largeCacheSize());
        assertEquals(4096, rt.buffers().options().smallPoolCount(), "the pool is created with them");
        assertNotNull(rt.bdevs().lookup("Malloc0"));
        SocketBuffers sockets = rt.context().get(SocketBuffers.class);
        assertEquals(2097152, sockets.recvBytes(), "posix buffer sizes go to the TCP front ends' sockets");
        assertEquals(2097152, sockets.sendBytes());
        assertEquals(4096, rt.rpc().callAndWait("sock_impl_get_options", json("{\"impl_name\": \"ssl\"}"))
                .path("recv_buf_size").asInt());

        ObjectNode saved = rt.saveConfig();
        assertEquals(4096, params(saved, "iobuf", "iobuf_set_options").path("small_pool_count").asInt());
        assertEquals("posix", params(saved, "sock", "sock_set_default_impl").path("impl_name").asText());
        assertEquals(4096, sslOptions(saved).path("recv_buf_size").asInt());
        assertEquals(2048, params(saved, "accel", "accel_set_options").path("task_count").asInt());
        assertEquals(10000, params(saved, "bdev", "bdev_nvme_set_options").path("keep_alive_timeout_ms").asInt());
        assertEquals(3, params(saved, "bdev", "bdev_nvme_set_options").path("dhchap_digests").size());
        JsonNode bdevConfig = null;
        for (JsonNode s : saved.get("subsystems")) {
            if (s.path("subsystem").asText().equals("bdev")) {
                bdevConfig = s.get("config");
            }
        }
        assertEquals("bdev_set_options", bdevConfig.get(0).path("method").asText(), "settings before the bdevs");

        // What ustor saved loads into a fresh ustor and saves the same.
        UstorRuntime again = start(true);
        JsonConfigLoader.apply(again.rpc(), saved, "saved", true);
        assertEquals(saved, again.saveConfig());
    }

    @Test
    void badSettingsGetClearErrors() throws Exception {
        UstorRuntime rt = start(true);
        assertInvalid(rt, "iobuf_set_options", "{\"small_pool_count\": 10}", "at least 64");
        assertInvalid(rt, "iobuf_set_options", "{\"small_pool_count\": \"many\"}", "must be an integer");
        assertInvalid(rt, "iobuf_set_options", "{\"enable_numa\": true}", "NUMA");
        assertInvalid(rt, "sock_impl_set_options", "{\"impl_name\": \"uring\"}", "no socket implementation");
        assertInvalid(rt, "sock_impl_set_options", "{\"recv_buf_size\": 1}", "impl_name");
        assertInvalid(rt, "accel_set_options", "{\"task_count\": -1}", "out of range");
        assertInvalid(rt, "bdev_nvme_set_options", "{\"action_on_timeout\": \"explode\"}", "one of abort, none, reset");
        assertInvalid(rt, "bdev_nvme_set_options", "{\"dhchap_digests\": [\"md5\"]}", "unknown value");
        assertInvalid(rt, "bdev_set_options", "{\"bdev_io_pool\": 5}", "bdev_io_pool");
        assertInvalid(rt, "keyring_linux_set_options", "{\"enable\": true}", "no Linux keyring");
        // A refused call changes nothing.
        assertEquals(IoBufferPoolOptions.defaults(), rt.bufferOptions());

        rt.rpc().callAndWait("framework_start_init", null);
        assertInvalid(rt, "bdev_nvme_set_hotplug", "{\"enable\": true}", "bdev_nvme_attach_controller");
        rt.rpc().callAndWait("bdev_nvme_set_hotplug", json("{\"enable\": false, \"period_us\": 100000}"));
        RpcException late = assertThrows(RpcException.class,
                () -> rt.rpc().callAndWait("iobuf_set_options", json("{\"small_pool_count\": 1024}")));
        assertEquals(-1, late.code(), "startup-only, as in SPDK: " + late.getMessage());
    }

    @Test
    void appliedAtRuntimeTheStartupOnlyCallsAreSkipped() throws Exception {
        UstorRuntime rt = start(false);
        rt.loadConfig(savedBySpdk());
        assertNotNull(rt.bdevs().lookup("Malloc0"), "the runtime part was applied");
        assertEquals(IoBufferPoolOptions.defaults(), rt.bufferOptions(), "iobuf_set_options skipped, as rpc.py does");
        assertEquals(10000, params(rt.saveConfig(), "bdev", "bdev_nvme_set_options").path("keep_alive_timeout_ms")
                .asInt(), "a startup-and-runtime setting applied");
    }

    private static JsonNode sslOptions(JsonNode config) {
        for (JsonNode s : config.get("subsystems")) {
            for (JsonNode c : s.path("config")) {
                if (c.path("method").asText().equals("sock_impl_set_options")
                        && c.path("params").path("impl_name").asText().equals("ssl")) {
                    return c.get("params");
                }
            }
        }
        return null;
    }

    private static void assertInvalid(UstorRuntime rt, String method, String params, String text) throws Exception {
        RpcException e = assertThrows(RpcException.class, () -> rt.rpc().callAndWait(method, json(params)),
                method + " " + params);
        assertEquals(RpcException.INVALID_PARAMS, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(text), method + ": " + e.getMessage());
    }
}
