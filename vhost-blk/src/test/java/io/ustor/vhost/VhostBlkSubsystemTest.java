package io.ustor.vhost;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.*;

/** The vhost_* and bdev_virtio_* RPC methods with SPDK's parameters, end to end over a real socket. */
class VhostBlkSubsystemTest {
    private static final ObjectMapper M = new ObjectMapper();
    @TempDir
    Path dir;

    private static JsonNode json(String s) throws Exception {
        return M.readTree(s);
    }

    private static VhostBlkSubsystem loaded() {
        for (Subsystem s : ServiceLoader.load(Subsystem.class)) {
            if (s instanceof VhostBlkSubsystem v) {
                return v;
            }
        }
        throw new AssertionError("VhostBlkSubsystem is not registered in META-INF/services");
    }

    @Test
    void createQueryAttachDetachDeleteAndSaveConfig() throws Exception {
        try (ReactorGroup reactors = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false))) {
            BdevRegistry bdevs = new BdevRegistry(reactors);
            bdevs.register(MallocBdev.create("Malloc0", 8192, 512, null));
            SubsystemContext ctx = new SubsystemContext();
            ctx.put(ReactorGroup.class, reactors);
            ctx.put(BdevRegistry.class, bdevs);
            ctx.put(VhostSocketDirectory.class, new VhostSocketDirectory(dir));
            VhostBlkSubsystem vhost = loaded();
            assertEquals("vhost_blk", vhost.name());
            List<ObjectNode> saved;
            try (RpcRegistry rpc = new RpcRegistry()) {
                vhost.registerMethods(rpc, ctx);
                rpc.enterRuntime();
                assertTrue(rpc.callAndWait("vhost_create_blk_controller",
                        json("{\"ctrlr\":\"vhost.0\",\"dev_name\":\"Malloc0\",\"cpumask\":\"0x2\"}")).asBoolean());
                assertTrue(Files.exists(dir.resolve("vhost.0")), "socket in the socket directory");
                RpcException dup = assertThrows(RpcException.class, () -> rpc.callAndWait("vhost_create_blk_controller",
                        json("{\"ctrlr\":\"vhost.0\",\"dev_name\":\"Malloc0\"}")));
                assertEquals(-17, dup.code());
                RpcException nodev = assertThrows(RpcException.class, () -> rpc.callAndWait("vhost_create_blk_controller",
                        json("{\"ctrlr\":\"vhost.1\",\"dev_name\":\"Nope\"}")));
                assertEquals(-19, nodev.code());
                assertTrue(rpc.callAndWait("vhost_create_blk_controller",
                        json("{\"ctrlr\":\"vhost.2\",\"dev_name\":\"Malloc0\",\"packed_ring\":true}")).asBoolean());
                RpcException missing = assertThrows(RpcException.class, () -> rpc.callAndWait("vhost_create_blk_controller",
                        json("{\"ctrlr\":\"vhost.3\"}")));
                assertEquals(-32602, missing.code());
                assertTrue(missing.getMessage().contains("dev_name"), missing.getMessage());

                JsonNode attached = rpc.callAndWait("bdev_virtio_attach_controller", json("{\"name\":\"VirtioBlk0\","
                        + "\"trtype\":\"user\",\"traddr\":\"" + dir.resolve("vhost.0") + "\",\"dev_type\":\"blk\",\"vq_count\":1,\"vq_size\":64}"));
                assertEquals("VirtioBlk0", attached.get(0).asText());
                assertEquals(8192, bdevs.lookup("VirtioBlk0").numBlocks());
                rpc.callAndWait("bdev_virtio_attach_controller", json("{\"name\":\"VirtioBlk2\","
                        + "\"trtype\":\"user\",\"traddr\":\"" + dir.resolve("vhost.2") + "\",\"dev_type\":\"blk\",\"vq_count\":1,\"vq_size\":64}"));
                assertEquals(Boolean.TRUE, ((java.util.Map<?, ?>) bdevs.lookup("VirtioBlk2").driverSpecific().get("virtio")).get("packed_ring"),
                        "the client negotiated the packed ring the controller offers");
                assertEquals(Boolean.FALSE, ((java.util.Map<?, ?>) bdevs.lookup("VirtioBlk0").driverSpecific().get("virtio")).get("packed_ring"));
                JsonNode list = rpc.callAndWait("vhost_get_controllers", json("{\"name\":\"vhost.0\"}"));
                assertEquals(1, list.size());
                JsonNode c = list.get(0);
                assertEquals("vhost.0", c.get("ctrlr").asText());
                assertEquals("0x2", c.get("cpumask").asText());
                assertEquals(dir.resolve("vhost.0").toString(), c.get("socket").asText());
                assertEquals("Malloc0", c.at("/backend_specific/block/bdev").asText());
                assertFalse(c.at("/backend_specific/block/readonly").asBoolean());
                assertEquals(1, c.get("sessions").asInt(), "the virtio bdev is connected");

                saved = vhost.saveConfig();
                assertEquals("bdev_virtio_attach_controller", saved.get(0).get("method").asText());
                assertEquals("bdev_virtio_attach_controller", saved.get(1).get("method").asText());
                assertEquals("vhost_create_blk_controller", saved.get(2).get("method").asText());
                assertEquals("Malloc0", saved.get(2).at("/params/dev_name").asText());
                assertFalse(saved.get(2).at("/params/packed_ring").asBoolean());
                assertEquals("vhost.2", saved.get(3).at("/params/ctrlr").asText());
                assertTrue(saved.get(3).at("/params/packed_ring").asBoolean(), "save_config keeps packed_ring");

                assertTrue(rpc.callAndWait("bdev_virtio_detach_controller", json("{\"name\":\"VirtioBlk2\"}")).asBoolean());
                assertTrue(rpc.callAndWait("vhost_delete_controller", json("{\"ctrlr\":\"vhost.2\"}")).asBoolean());

                assertTrue(rpc.callAndWait("bdev_virtio_detach_controller", json("{\"name\":\"VirtioBlk0\"}")).asBoolean());
                assertNull(bdevs.lookup("VirtioBlk0"));
                assertTrue(rpc.callAndWait("vhost_delete_controller", json("{\"ctrlr\":\"vhost.0\"}")).asBoolean());
                assertFalse(Files.exists(dir.resolve("vhost.0")), "socket removed");
                RpcException gone = assertThrows(RpcException.class, () -> rpc.callAndWait("vhost_delete_controller",
                        json("{\"ctrlr\":\"vhost.0\"}")));
                assertEquals(-19, gone.code());
                assertEquals(0, rpc.callAndWait("vhost_get_controllers", json("{}")).size());
            } finally {
                vhost.shutdown();
            }
            bdevs.unregisterAll().join();
        }
    }
}
