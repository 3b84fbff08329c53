package io.ustor.iscsi;

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

import java.util.List;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The iscsi_* RPC methods with SPDK's parameters, and save_config replayed into a fresh target. */
class IscsiSubsystemTest {
    private static final ObjectMapper M = new ObjectMapper();

    private static JsonNode json(String s) throws Exception {
        return M.readTree(s);
    }

    private static IscsiSubsystem loaded() {
        for (Subsystem s : ServiceLoader.load(Subsystem.class)) {
            if (s instanceof IscsiSubsystem i) {
                return i;
            }
        }
        throw new AssertionError("IscsiSubsystem is not registered in META-INF/services");
    }

    @Test
    void configureByRpcQueryAndReplaySavedConfig() throws Exception {
        ReactorGroup reactors = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        BdevRegistry bdevs = new BdevRegistry(reactors);
        bdevs.register(MallocBdev.create("Malloc0", 8192, 512, null));
        bdevs.register(MallocBdev.create("Malloc1", 8192, 512, null));
        SubsystemContext ctx = new SubsystemContext();
        ctx.put(ReactorGroup.class, reactors);
        ctx.put(BdevRegistry.class, bdevs);
        IscsiSubsystem iscsi = loaded();
        assertEquals("iscsi", iscsi.name());
        List<ObjectNode> saved;
        try (RpcRegistry rpc = new RpcRegistry()) {
            iscsi.registerMethods(rpc, ctx);
            rpc.enterRuntime();
            RpcException badNop = assertThrows(RpcException.class,
                    () -> rpc.callAndWait("iscsi_set_options", json("{\"nop_in_interval\":61}")));
            assertTrue(badNop.getMessage().contains("nop_in_interval"), badNop.getMessage());
            rpc.callAndWait("iscsi_set_options", json("{\"node_base\":\"iqn.2016-06.io.ustor\",\"max_queue_depth\":32,"
                    + "\"nop_in_interval\":5,\"nop_timeout\":10,\"login_timeout\":15}"));
            rpc.callAndWait("iscsi_create_portal_group",
                    json("{\"tag\":1,\"portals\":[{\"host\":\"127.0.0.1\",\"port\":\"0\"}]}"));
            rpc.callAndWait("iscsi_create_initiator_group",
                    json("{\"tag\":2,\"initiators\":[\"ANY\"],\"netmasks\":[\"127.0.0.0/8\"]}"));
            rpc.callAndWait("iscsi_create_auth_group", json("{\"tag\":3,\"secrets\":[{\"user\":\"u\",\"secret\":\"s\"}]}"));
            rpc.callAndWait("iscsi_auth_group_add_secret",
                    json("{\"tag\":3,\"user\":\"u2\",\"secret\":\"s2\",\"muser\":\"m\",\"msecret\":\"ms\"}"));
            rpc.callAndWait("iscsi_create_target_node", json("{\"name\":\"disk1\",\"alias_name\":\"Data Disk1\","
                    + "\"pg_ig_maps\":[{\"pg_tag\":1,\"ig_tag\":2}],\"luns\":[{\"bdev_name\":\"Malloc0\",\"lun_id\":0}],"
                    + "\"queue_depth\":16,\"chap_group\":3}"));
            JsonNode lun = rpc.callAndWait("iscsi_target_node_add_lun",
                    json("{\"name\":\"iqn.2016-06.io.ustor:disk1\",\"bdev_name\":\"Malloc1\"}"));
            assertEquals(1, lun.asInt(), "the lowest free LUN id");

            JsonNode nodes = rpc.callAndWait("iscsi_get_target_nodes", null);
            assertEquals("iqn.2016-06.io.ustor:disk1", nodes.get(0).get("name").asText());
            assertEquals("Data Disk1", nodes.get(0).get("alias_name").asText());
            assertEquals(2, nodes.get(0).get("luns").size());
            assertEquals(2, nodes.get(0).get("pg_ig_maps").get(0).get("ig_tag").asInt());
            JsonNode pgs = rpc.callAndWait("iscsi_get_portal_groups", null);
            int port = Integer.parseInt(pgs.get(0).get("portals").get(0).get("port").asText());
            assertTrue(port > 0, "the bound port is reported");
            assertEquals("127.0.0.0/8", rpc.callAndWait("iscsi_get_initiator_groups", null).get(0)
                    .get("netmasks").get(0).asText());
            JsonNode opts = rpc.callAndWait("iscsi_get_options", null);
            assertEquals(32, opts.get("max_queue_depth").asInt());
            assertEquals(5, opts.get("nop_in_interval").asInt());
            assertEquals(10, opts.get("nop_timeout").asInt());
            assertEquals(15, opts.get("login_timeout").asInt());
            assertEquals(2, rpc.callAndWait("iscsi_get_auth_groups", null).get(0).get("secrets").size());

            // A real client through what the RPCs built.
            try (MiniInitiator m = new MiniInitiator(new java.net.InetSocketAddress("127.0.0.1", port))) {
                int[] st = new int[1];
                m.login(null, java.util.Map.of(), st);
                assertEquals(0, st[0]);
                assertEquals(1, rpc.callAndWait("iscsi_get_connections", null).size());
            }

            RpcException bad = assertThrows(RpcException.class, () -> rpc.callAndWait("iscsi_create_target_node",
                    json("{\"name\":\"x\",\"pg_ig_maps\":[{\"pg_tag\":9,\"ig_tag\":2}],"
                            + "\"luns\":[{\"bdev_name\":\"Malloc0\",\"lun_id\":0}],\"queue_depth\":4}")));
            assertTrue(bad.getMessage().contains("portal group 9"), bad.getMessage());

            saved = iscsi.saveConfig();
            assertEquals(List.of("iscsi_set_options", "iscsi_create_auth_group", "iscsi_create_portal_group",
                    "iscsi_create_initiator_group", "iscsi_create_target_node"),
                    saved.stream().map(c -> c.get("method").asText()).toList());
            rpc.callAndWait("iscsi_delete_target_node", json("{\"name\":\"iqn.2016-06.io.ustor:disk1\"}"));
            assertEquals(0, rpc.callAndWait("iscsi_get_target_nodes", null).size());
        } finally {
            iscsi.shutdown();
        }

        // Replay the saved config into a fresh subsystem (the port is taken by nobody now).
        IscsiSubsystem again = new IscsiSubsystem();
        try (RpcRegistry rpc = new RpcRegistry()) {
            again.registerMethods(rpc, ctx);
            rpc.enterRuntime();
            for (ObjectNode call : saved) {
                rpc.callAndWait(call.get("method").asText(), call.get("params"));
            }
            JsonNode nodes = rpc.callAndWait("iscsi_get_target_nodes", null);
            assertEquals(2, nodes.get(0).get("luns").size());
            assertEquals(3, nodes.get(0).get("chap_group").asInt());
            JsonNode opts = rpc.callAndWait("iscsi_get_options", null);
            assertEquals(10, opts.get("nop_timeout").asInt(), "saved and replayed");
            assertEquals(15, opts.get("login_timeout").asInt(), "saved and replayed");
        } finally {
            again.shutdown();
            bdevs.unregisterAll().join();
            reactors.close();
        }
    }
}
