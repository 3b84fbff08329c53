package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ustord as an iSCSI target: a config in SPDK's format with an "iscsi" subsystem, libiscsi's tools (iscsi-ls,
 * iscsi-inq, iscsi-readcapacity16) as the clients, the iscsi_* methods through ustor-rpc in rpc.py's command-line
 * form, save_config with the iscsi subsystem and a reload of it, SIGTERM; and the built-in default config serving
 * Malloc0 on 127.0.0.1:3260.
 */
class UstordIscsiTest {
    static final String DISK1 = "iqn.2016-06.io.spdk:disk1";
    static Path dir;
    static Path socket;
    static DaemonProcess daemon;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iscsi-ls")), "libiscsi-bin is not installed (apt-get install libiscsi-bin)");
        dir = Files.createTempDirectory("ustord-iscsi");
        socket = dir.resolve("ustor.sock");
        // What SPDK's save_config writes for a target like rpc.py's example (port 0: a free one).
        Path config = dir.resolve("iscsi.json");
        Files.writeString(config, """
                {"subsystems": [
                  {"subsystem": "bdev", "config": [
                    {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 131072, "block_size": 512}}]},
                  {"subsystem": "iscsi", "config": [
                    {"method": "iscsi_set_options", "params": {"node_base": "iqn.2016-06.io.spdk", "max_queue_depth": 64}},
                    {"method": "iscsi_create_portal_group", "params": {"tag": 1, "portals": [{"host": "127.0.0.1", "port": "0"}]}},
                    {"method": "iscsi_create_initiator_group", "params": {"tag": 2, "initiators": ["ANY"], "netmasks": ["127.0.0.1/32"]}},
                    {"method": "iscsi_create_target_node", "params": {"name": "disk1", "alias_name": "Data Disk1",
                      "luns": [{"bdev_name": "Malloc0", "lun_id": 0}], "pg_ig_maps": [{"pg_tag": 1, "ig_tag": 2}],
                      "queue_depth": 64, "disable_chap": true}}]}]}
                """);
        daemon = DaemonProcess.startUstord(socket, "-c", config.toString());
        daemon.awaitReady();
        port = portOf(socket, 1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (daemon != null) {
            daemon.terminate();
            assertEquals(0, daemon.waitFor(), daemon.err());
            assertFalse(Files.exists(socket), "socket removed on shutdown");
            assertThrows(IOException.class, () -> new Socket("127.0.0.1", port).close(), "portal closed on shutdown");
        }
    }

    static int portOf(Path socket, int tag) throws IOException {
        try (RawJsonClient c = new RawJsonClient(socket)) {
            for (JsonNode pg : c.call(1, "iscsi_get_portal_groups", null).get("result")) {
                if (pg.get("tag").asInt() == tag) {
                    return pg.get("portals").get(0).get("port").asInt();
                }
            }
        }
        throw new AssertionError("no portal group " + tag);
    }

    private static DaemonProcess rpc(String... args) throws IOException {
        String[] all = new String[args.length + 2];
        all[0] = "-s";
        all[1] = socket.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return DaemonProcess.run("ustor-rpc", all);
    }

    private static String ok(DaemonProcess p) throws InterruptedException {
        assertEquals(0, p.waitFor(), "stdout: " + p.out() + "\nstderr: " + p.err());
        return p.out();
    }

    private static String tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    @Test
    void startupSummaryListsThePortalAndTarget() {
        String out = daemon.out();
        assertTrue(out.contains("iscsi (portal 127.0.0.1:" + port + ", 1 target(s))"), out);
    }

    @Test
    void libiscsiToolsSeeTheConfiguredTarget() throws Exception {
        String ls = tool("iscsi-ls", "-s", "iscsi://127.0.0.1:" + port);
        assertTrue(ls.contains("Target:" + DISK1 + " Portal:127.0.0.1:" + port + ",1"), ls);
        assertTrue(ls.contains("Lun:0") && ls.contains("DIRECT_ACCESS"), ls);
        String lun = "iscsi://127.0.0.1:" + port + "/" + DISK1 + "/0";
        String inq = tool("iscsi-inq", lun);
        assertTrue(inq.contains("Peripheral Device Type:DIRECT_ACCESS"), inq);
        String cap = tool("iscsi-readcapacity16", lun);
        assertTrue(cap.contains("RETURNED LOGICAL BLOCK ADDRESS:131071") && cap.contains("Total size:67108864"), cap);
    }

    @Test
    void iobufStatsCountTheTargetsDataBuffers() throws Exception {
        String lun = "iscsi://127.0.0.1:" + port + "/" + DISK1 + "/0";
        tool("iscsi-perf", "-t", "1", "-m", "4", "-b", "8", lun); // 4 KiB reads: small buffers
        try (RawJsonClient c = new RawJsonClient(socket)) {
            JsonNode stats = c.call(1, "iobuf_get_stats", null).get("result");
            JsonNode iscsi = null;
            for (JsonNode m : stats) {
                if (m.get("module").asText().equals("iscsi")) {
                    iscsi = m;
                }
            }
            assertTrue(iscsi != null, stats.toString());
            JsonNode small = iscsi.get("small_pool");
            assertTrue(small.get("cache").asLong() + small.get("main").asLong() > 1000, stats.toString());
            assertEquals(0, small.get("retry").asLong(), stats.toString());
            assertTrue(iscsi.get("large_pool").has("main"), stats.toString());
        }
    }

    @Test
    void ustorRpcManagesIscsiWithRpcPyArguments() throws Exception {
        ok(rpc("bdev_malloc_create", "-b", "MallocI", "8", "512"));
        ok(rpc("bdev_malloc_create", "-b", "MallocJ", "4", "4096"));
        assertEquals("", ok(rpc("iscsi_create_portal_group", "2", "127.0.0.1:0")).trim(), "prints nothing, as rpc.py");
        ok(rpc("iscsi_create_initiator_group", "3", "ANY", "127.0.0.1/32"));
        ok(rpc("iscsi_create_auth_group", "4", "-c", "user:u1 secret:s1secretsecret muser:mu1 msecret:ms1secretsecret"));
        ok(rpc("iscsi_auth_group_add_secret", "4", "-u", "u2", "-s", "s2secretsecret"));
        ok(rpc("iscsi_create_target_node", "disk2", "Data Disk2", "MallocI:0", "2:3", "64", "-r", "-g", "4"));
        ok(rpc("iscsi_target_node_add_lun", "disk2", "MallocJ", "-i", "1"));
        int port2 = portOf(socket, 2);
        assertNotEquals(port, port2);

        JsonNode nodes = RawJsonClient.MAPPER.readTree(ok(rpc("iscsi_get_target_nodes")));
        JsonNode disk2 = null;
        for (JsonNode n : nodes) {
            if (n.get("name").asText().equals("iqn.2016-06.io.spdk:disk2")) {
                disk2 = n;
            }
        }
        assertNotNull(disk2, nodes.toString());
        assertEquals("Data Disk2", disk2.get("alias_name").asText());
        assertEquals(2, disk2.get("luns").size(), disk2.toString());
        assertEquals(2, disk2.get("pg_ig_maps").get(0).get("pg_tag").asInt());
        assertEquals(3, disk2.get("pg_ig_maps").get(0).get("ig_tag").asInt());
        assertTrue(disk2.get("require_chap").asBoolean() && disk2.get("chap_group").asInt() == 4, disk2.toString());
        JsonNode groups = RawJsonClient.MAPPER.readTree(ok(rpc("iscsi_get_auth_groups")));
        assertTrue(groups.toString().contains("\"u2\"") && groups.toString().contains("\"mu1\""), groups.toString());
        assertTrue(ok(rpc("iscsi_get_initiator_groups")).contains("127.0.0.1/32"));

        // The new target through its own portal, with the CHAP secret added by ustor-rpc.
        String url = "iscsi://u2%s2secretsecret@127.0.0.1:" + port2 + "/iqn.2016-06.io.spdk:disk2/";
        String cap = tool("iscsi-readcapacity16", url + "1");
        assertTrue(cap.contains("LOGICAL BLOCK LENGTH IN BYTES:4096"), cap);
        assertTrue(tool("iscsi-readcapacity16", url + "0").contains("RETURNED LOGICAL BLOCK ADDRESS:16383"));

        // A connection shows in iscsi_get_connections while it is open.
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port2));
            JsonNode conns = RawJsonClient.MAPPER.readTree(ok(rpc("iscsi_get_connections")));
            assertTrue(conns.toString().contains("\"pg_tag\":2"), conns.toString());
        }

        ok(rpc("iscsi_delete_target_node", "iqn.2016-06.io.spdk:disk2"));
        ok(rpc("iscsi_delete_portal_group", "2"));
        ok(rpc("iscsi_delete_initiator_group", "3"));
        ok(rpc("iscsi_delete_auth_group", "4"));
        assertFalse(ok(rpc("iscsi_get_target_nodes")).contains("disk2"));
        ok(rpc("bdev_malloc_delete", "MallocI"));
        ok(rpc("bdev_malloc_delete", "MallocJ"));
    }

    @Test
    void ustorRpcIscsiHelpAndErrors() throws Exception {
        String help = ok(rpc("iscsi_create_target_node", "--help"));
        assertTrue(help.contains("pg_ig_maps") && help.contains("--chap-group") && help.contains("queue_depth"), help);
        assertTrue(ok(rpc("--help")).contains("iscsi_get_connections"));

        DaemonProcess p = rpc("iscsi_create_target_node", "disk3", "a", "Malloc0", "1:2", "64");
        assertEquals(2, p.waitFor(), p.err());
        assertTrue(p.err().contains("'Malloc0'"), p.err());
        p = rpc("iscsi_create_target_node", "disk3", "a", "Malloc0:0", "1:2", "64", "-d", "-r");
        assertEquals(2, p.waitFor(), p.err());
        assertTrue(p.err().contains("not allowed with"), p.err());
        // A daemon-side error comes back the way rpc.py shows it.
        p = rpc("iscsi_create_target_node", "disk3", "a", "NoSuchBdev:0", "1:2", "64");
        assertEquals(1, p.waitFor(), p.err());
        assertTrue(p.err().contains("Got JSON-RPC error response"), p.err());
    }

    @Test
    void saveConfigHasTheIscsiSubsystemAndReloadsIt() throws Exception {
        String saved = ok(rpc("save_config"));
        JsonNode config = RawJsonClient.MAPPER.readTree(saved);
        JsonNode iscsi = null;
        for (JsonNode s : config.get("subsystems")) {
            if (s.get("subsystem").asText().equals("iscsi")) {
                iscsi = s.get("config");
            }
        }
        assertNotNull(iscsi, saved);
        assertTrue(iscsi.toString().contains("iscsi_create_target_node") && iscsi.toString().contains(DISK1), saved);

        // A second daemon from the saved file (its portal moved off the first daemon's port) serves the same target.
        Path file = dir.resolve("saved.json");
        Files.writeString(file, saved.replace("\"port\": \"" + port + "\"", "\"port\": \"0\""));
        Path socket2 = dir.resolve("second.sock");
        try (DaemonProcess second = DaemonProcess.startUstord(socket2, "-c", file.toString())) {
            second.awaitReady();
            int port2 = portOf(socket2, 1);
            try (RawJsonClient a = new RawJsonClient(socket); RawJsonClient b = new RawJsonClient(socket2)) {
                JsonNode before = a.call(1, "iscsi_get_target_nodes", null).get("result");
                JsonNode after = b.call(1, "iscsi_get_target_nodes", null).get("result");
                assertEquals(before.toString(), after.toString());
                ObjectNode ig1 = (ObjectNode) a.call(2, "iscsi_get_initiator_groups", null).get("result").get(0);
                ObjectNode ig2 = (ObjectNode) b.call(2, "iscsi_get_initiator_groups", null).get("result").get(0);
                assertEquals(ig1, ig2);
            }
            String ls = tool("iscsi-ls", "-s", "iscsi://127.0.0.1:" + port2);
            assertTrue(ls.contains("Target:" + DISK1), ls);
            second.terminate();
            assertEquals(0, second.waitFor(), second.err());
        }
    }

    /** bin/ustord with no config: Malloc0 exported on 127.0.0.1:3260 (what the README's quick start promises). */
    @Test
    void builtInDefaultConfigServesMalloc0On3260() throws Exception {
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress("127.0.0.1", 3260));
        } catch (IOException inUse) {
            assumeTrue(false, "port 3260 is in use by another process: cannot start the built-in default config");
        }
        Path socket3 = dir.resolve("default.sock");
        try (DaemonProcess d = DaemonProcess.startUstord(socket3)) {
            d.awaitReady();
            assertTrue(d.out().contains("iscsi (portal 127.0.0.1:3260, 1 target(s))"), d.out());
            String ls = tool("iscsi-ls", "-s", "iscsi://127.0.0.1:3260");
            assertTrue(ls.contains("Target:iqn.2026-11.io.ustor:malloc0 Portal:127.0.0.1:3260,1"), ls);
            String cap = tool("iscsi-readcapacity16", "iscsi://127.0.0.1:3260/iqn.2026-11.io.ustor:malloc0/0");
            assertTrue(cap.contains("Total size:67108864"), cap);
            d.terminate();
            assertEquals(0, d.waitFor(), d.err());
        }
    }
}
