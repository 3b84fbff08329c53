package io.ustor.iscsi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.IoBufferPool;
import io.ustor.env.net.SocketBuffers;
import io.ustor.reactor.ReactorGroup;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;
import io.ustor.scsi.ScsiLun;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * SPDK's "iscsi" subsystem: the iscsi_* RPC methods with SPDK's names and parameters, and save_config entries
 * that recreate portal groups, initiator groups, auth groups and target nodes. The target itself starts when the
 * first method needs it (options set by iscsi_set_options before that apply).
 */
public final class IscsiSubsystem implements Subsystem {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ReactorGroup reactors;
    private BdevRegistry bdevs;
    private SubsystemContext context;
    private IscsiOptions options = IscsiOptions.defaults();
    private IscsiTarget target;

    @Override
    public String name() {
        return "iscsi";
    }

    @Override
    public List<String> dependsOn() {
        return List.of("bdev");
    }

    /** The running target (created on first use). */
    public synchronized IscsiTarget target() {
        if (target == null) {
            target = IscsiTarget.start(reactors, bdevs, options, bufferPool());
            if (context != null) {
                context.find(SocketBuffers.class).ifPresent(target::useSocketBuffers);
            }
        }
        return target;
    }

    /** The daemon's iobuf pool for command data (SPDK's iscsi takes its data buffers from iobuf), or null. */
    private IoBufferPool bufferPool() {
        try {
            return context == null ? null : context.find(IoBufferPool.class).orElse(null);
        } catch (RuntimeException e) {
            System.getLogger(IscsiSubsystem.class.getName()).log(System.Logger.Level.WARNING,
                    "iscsi: no iobuf pool, commands use per-connection memory", e);
            return null;
        }
    }

    @Override
    public void registerMethods(RpcRegistry r, SubsystemContext ctx) {
        this.reactors = ctx.get(ReactorGroup.class);
        this.bdevs = ctx.get(BdevRegistry.class);
        this.context = ctx;
        r.register("iscsi_set_options", this::setOptions, true);
        r.register("iscsi_get_options", p -> optionsJson(target == null ? options : target.options()), true);
        r.register("iscsi_set_discovery_auth", this::setDiscoveryAuth);
        r.register("iscsi_create_portal_group", this::createPortalGroup);
        r.register("iscsi_delete_portal_group", p -> {
            int tag = tag(p);
            return run(() -> target().deletePortalGroup(tag));
        });
        r.register("iscsi_get_portal_groups", p -> portalGroupsJson());
        r.register("iscsi_create_initiator_group", this::createInitiatorGroup);
        r.register("iscsi_initiator_group_add_initiators", p -> {
            int tag = tag(p);
            List<String> i = p.optionalStringList("initiators"), n = p.optionalStringList("netmasks");
            return run(() -> target().addToInitiatorGroup(tag, i == null ? List.of() : i, n == null ? List.of() : n));
        });
        r.register("iscsi_delete_initiator_group", p -> {
            int tag = tag(p);
            return run(() -> target().deleteInitiatorGroup(tag));
        });
        r.register("iscsi_get_initiator_groups", p -> initiatorGroupsJson());
        r.register("iscsi_create_auth_group", this::createAuthGroup);
        r.register("iscsi_delete_auth_group", p -> {
            int tag = tag(p);
            return run(() -> target().deleteAuthGroup(tag));
        });
        r.register("iscsi_auth_group_add_secret", this::addSecret);
        r.register("iscsi_auth_group_remove_secret", p -> {
            AuthGroup g = authGroup(p);
            String user = p.requiredString("user");
            if (!g.removeSecret(user)) {
                throw RpcException.invalidParams("auth group " + g.tag() + " has no user " + user);
            }
            return true;
        });
        r.register("iscsi_get_auth_groups", p -> authGroupsJson());
        r.register("iscsi_create_target_node", this::createTargetNode);
        r.register("iscsi_target_node_add_lun", p -> {
            String name = p.requiredString("name");
            String bdev = p.requiredString("bdev_name");
            int lunId = p.optionalInt("lun_id", -1);
            return run(() -> target().addLun(name, bdev, lunId));
        });
        r.register("iscsi_delete_target_node", p -> {
            String name = p.requiredString("name");
            if (target().targetNode(name) == null) {
                throw RpcException.invalidParams("no target node " + name);
            }
            return target().deleteTargetNode(name).thenApply(v -> Boolean.TRUE);
        });
        r.register("iscsi_get_target_nodes", p -> targetNodesJson());
        r.register("iscsi_get_connections", p -> connectionsJson());
    }

    private interface Action {
        Object run() throws RpcException;
    }

    /** Runs a control-plane call; IllegalArgument/IllegalState become -32602 / -1 errors naming the problem. */
    private static Object run(Action a) throws RpcException {
        try {
            Object o = a.run();
            return o == null || o instanceof AuthGroup || o instanceof InitiatorGroup || o instanceof PortalGroup
                    || o instanceof TargetNode ? Boolean.TRUE : o;
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(e.getMessage());
        } catch (IllegalStateException e) {
            throw new RpcException(RpcException.INVALID_STATE, e.getMessage());
        } catch (RuntimeException e) {
            throw new RpcException(RpcException.INTERNAL_ERROR, String.valueOf(e.getMessage()), e);
        }
    }

    private static Object run(Runnable r) throws RpcException {
        return run(() -> {
            r.run();
            return null;
        });
    }

    private static int tag(RpcParams p) throws RpcException {
        long t = p.requiredLong("tag");
        if (t < 1 || t > 65535) {
            throw RpcException.invalidParams("tag " + t + " outside 1..65535");
        }
        return (int) t;
    }

    private static final Set<String> OPTION_KEYS = Set.of("auth_file", "node_base", "nop_timeout", "nop_in_interval",
            "login_timeout", "disable_chap", "require_chap", "mutual_chap", "chap_group", "max_sessions", "max_queue_depth",
            "max_connections_per_session", "default_time2wait", "default_time2retain", "first_burst_length",
            "immediate_data", "error_recovery_level", "allow_duplicated_isid", "max_large_datain_per_connection",
            "max_r2t_per_connection", "pdu_pool_size", "immediate_data_pool_size", "data_out_pool_size");

    private synchronized Object setOptions(RpcParams p) throws RpcException {
        p.allowOnly(OPTION_KEYS);
        if (target != null) {
            throw new RpcException(RpcException.INVALID_STATE, "iscsi_set_options must come before the target starts");
        }
        IscsiOptions o = options;
        try {
            options = new IscsiOptions(p.optionalString("node_base", o.nodeBase()),
                    p.optionalInt("max_sessions", o.maxSessions()),
                    p.optionalInt("max_connections_per_session", o.maxConnectionsPerSession()),
                    p.optionalInt("max_queue_depth", o.maxQueueDepth()),
                    p.optionalInt("default_time2wait", o.defaultTime2Wait()),
                    p.optionalInt("default_time2retain", o.defaultTime2Retain()),
                    p.optionalInt("first_burst_length", o.firstBurstLength()),
                    o.maxBurstLength(), o.maxRecvDataSegmentLength(),
                    p.optionalBool("immediate_data", o.immediateData()), o.initialR2T(),
                    p.optionalInt("max_r2t_per_connection", o.maxR2tPerConnection()),
                    p.optionalInt("error_recovery_level", o.errorRecoveryLevel()),
                    p.optionalBool("allow_duplicated_isid", o.allowDuplicatedIsid()),
                    p.optionalBool("disable_chap", o.disableChap()), p.optionalBool("require_chap", o.requireChap()),
                    p.optionalBool("mutual_chap", o.mutualChap()), p.optionalInt("chap_group", o.chapGroup()),
                    p.optionalInt("nop_in_interval", o.nopInInterval()),
                    p.optionalInt("nop_timeout", o.nopTimeout()),
                    p.optionalInt("login_timeout", o.loginTimeout()));
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
        return true;
    }

    private Object setDiscoveryAuth(RpcParams p) throws RpcException {
        IscsiOptions o = target().options();
        int group = p.optionalInt("chap_group", o.chapGroup());
        if (group != 0 && target().authGroup(group) == null) {
            throw RpcException.invalidParams("no auth group " + group);
        }
        try {
            target().setOptions(o.withDiscoveryAuth(p.optionalBool("disable_chap", false),
                    p.optionalBool("require_chap", false), p.optionalBool("mutual_chap", false), group));
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
        return true;
    }

    private Object createPortalGroup(RpcParams p) throws RpcException {
        int tag = tag(p);
        JsonNode portals = p.optionalNode("portals");
        if (portals == null || !portals.isArray() || portals.isEmpty()) {
            throw RpcException.invalidParams("portals: a non-empty array of {host, port} is required");
        }
        List<Portal> list = new ArrayList<>();
        for (JsonNode n : portals) {
            JsonNode host = n.get("host"), port = n.get("port");
            if (host == null || !host.isTextual() || port == null) {
                throw RpcException.invalidParams("portal " + n + ": host and port are required");
            }
            int portNo;
            try {
                portNo = port.isNumber() ? port.asInt() : Integer.parseInt(port.asText());
            } catch (NumberFormatException e) {
                throw RpcException.invalidParams("portal " + n + ": port is not a number");
            }
            list.add(new Portal(host.asText(), portNo));
        }
        boolean priv = p.optionalBool("private", false);
        return run(() -> target().createPortalGroup(tag, list, priv));
    }

    private Object createInitiatorGroup(RpcParams p) throws RpcException {
        int tag = tag(p);
        List<String> initiators = p.optionalStringList("initiators");
        List<String> netmasks = p.optionalStringList("netmasks");
        if (initiators == null || initiators.isEmpty() || netmasks == null || netmasks.isEmpty()) {
            throw RpcException.invalidParams("initiators and netmasks are required");
        }
        return run(() -> target().createInitiatorGroup(tag, initiators, netmasks));
    }

    private Object createAuthGroup(RpcParams p) throws RpcException {
        int tag = tag(p);
        List<ChapSecret> secrets = new ArrayList<>();
        JsonNode s = p.optionalNode("secrets");
        if (s != null) {
            if (!s.isArray()) {
                throw RpcException.invalidParams("secrets must be an array");
            }
            for (JsonNode n : s) {
                secrets.add(secret(n.path("user").asText(null), n.path("secret").asText(null),
                        n.path("muser").asText(null), n.path("msecret").asText(null)));
            }
        }
        return run(() -> target().createAuthGroup(tag, secrets));
    }

    private static ChapSecret secret(String user, String secret, String muser, String msecret) throws RpcException {
        try {
            return new ChapSecret(user, secret, muser, msecret);
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
    }

    private AuthGroup authGroup(RpcParams p) throws RpcException {
        int tag = tag(p);
        AuthGroup g = target().authGroup(tag);
        if (g == null) {
            throw RpcException.invalidParams("no auth group " + tag);
        }
        return g;
    }

    private Object addSecret(RpcParams p) throws RpcException {
        AuthGroup g = authGroup(p);
        ChapSecret s = secret(p.requiredString("user"), p.requiredString("secret"), p.optionalString("muser", null),
                p.optionalString("msecret", null));
        return run(() -> g.addSecret(s));
    }

    private Object createTargetNode(RpcParams p) throws RpcException {
        String name = p.requiredString("name");
        String alias = p.optionalString("alias_name", "");
        List<PgIgMapping> maps = new ArrayList<>();
        JsonNode m = p.optionalNode("pg_ig_maps");
        if (m == null || !m.isArray() || m.isEmpty()) {
            throw RpcException.invalidParams("pg_ig_maps: a non-empty array of {pg_tag, ig_tag} is required");
        }
        for (JsonNode n : m) {
            if (!n.path("pg_tag").canConvertToInt() || !n.path("ig_tag").canConvertToInt()) {
                throw RpcException.invalidParams("pg_ig_maps entry " + n + " needs pg_tag and ig_tag");
            }
            maps.add(new PgIgMapping(n.get("pg_tag").asInt(), n.get("ig_tag").asInt()));
        }
        List<LunSpec> luns = new ArrayList<>();
        JsonNode l = p.optionalNode("luns");
        if (l == null || !l.isArray() || l.isEmpty()) {
            throw RpcException.invalidParams("luns: a non-empty array of {bdev_name, lun_id} is required");
        }
        for (JsonNode n : l) {
            if (!n.path("bdev_name").isTextual() || !n.path("lun_id").canConvertToInt()) {
                throw RpcException.invalidParams("luns entry " + n + " needs bdev_name and lun_id");
            }
            try {
                luns.add(new LunSpec(n.get("bdev_name").asText(), n.get("lun_id").asInt()));
            } catch (IllegalArgumentException e) {
                throw RpcException.invalidParams(e.getMessage());
            }
        }
        int qd = (int) p.requiredLong("queue_depth");
        ChapPolicy chap;
        try {
            chap = new ChapPolicy(p.optionalBool("disable_chap", false), p.optionalBool("require_chap", false),
                    p.optionalBool("mutual_chap", false), p.optionalInt("chap_group", 0));
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
        boolean hd = p.optionalBool("header_digest", false), dd = p.optionalBool("data_digest", false);
        return run(() -> target().createTargetNode(name, alias, maps, luns, qd, chap, hd, dd));
    }

    // ---- JSON views ----

    private static ObjectNode optionsJson(IscsiOptions o) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("node_base", o.nodeBase());
        n.put("nop_timeout", o.nopTimeout());
        n.put("nop_in_interval", o.nopInInterval());
        n.put("login_timeout", o.loginTimeout());
        n.put("disable_chap", o.disableChap());
        n.put("require_chap", o.requireChap());
        n.put("mutual_chap", o.mutualChap());
        n.put("chap_group", o.chapGroup());
        n.put("max_sessions", o.maxSessions());
        n.put("max_queue_depth", o.maxQueueDepth());
        n.put("max_connections_per_session", o.maxConnectionsPerSession());
        n.put("default_time2wait", o.defaultTime2Wait());
        n.put("default_time2retain", o.defaultTime2Retain());
        n.put("first_burst_length", o.firstBurstLength());
        n.put("immediate_data", o.immediateData());
        n.put("allow_duplicated_isid", o.allowDuplicatedIsid());
        n.put("error_recovery_level", o.errorRecoveryLevel());
        n.put("max_r2t_per_connection", o.maxR2tPerConnection());
        return n;
    }

    private ArrayNode portalGroupsJson() {
        ArrayNode a = MAPPER.createArrayNode();
        if (target == null) {
            return a;
        }
        for (PortalGroup pg : target.portalGroups()) {
            a.add(portalGroupJson(pg));
        }
        return a;
    }

    private static ObjectNode portalGroupJson(PortalGroup pg) {
        ObjectNode n = MAPPER.createObjectNode();
        ArrayNode ps = n.putArray("portals");
        for (Portal p : pg.portals()) {
            ps.addObject().put("host", p.host()).put("port", Integer.toString(p.port()));
        }
        n.put("tag", pg.tag());
        n.put("private", pg.privateGroup());
        return n;
    }

    private ArrayNode initiatorGroupsJson() {
        ArrayNode a = MAPPER.createArrayNode();
        if (target == null) {
            return a;
        }
        for (InitiatorGroup ig : target.initiatorGroups()) {
            a.add(initiatorGroupJson(ig));
        }
        return a;
    }

    private static ObjectNode initiatorGroupJson(InitiatorGroup ig) {
        ObjectNode n = MAPPER.createObjectNode();
        ArrayNode i = n.putArray("initiators");
        ig.initiators().forEach(i::add);
        n.put("tag", ig.tag());
        ArrayNode m = n.putArray("netmasks");
        ig.netmasks().forEach(m::add);
        return n;
    }

    private ArrayNode authGroupsJson() {
        ArrayNode a = MAPPER.createArrayNode();
        if (target == null) {
            return a;
        }
        for (AuthGroup g : target.authGroups()) {
            a.add(authGroupJson(g));
        }
        return a;
    }

    private static ObjectNode authGroupJson(AuthGroup g) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("tag", g.tag());
        ArrayNode s = n.putArray("secrets");
        for (ChapSecret c : g.secrets()) {
            ObjectNode o = s.addObject().put("user", c.user()).put("secret", c.secret());
            if (c.mutualUser() != null) {
                o.put("muser", c.mutualUser()).put("msecret", c.mutualSecret());
            }
        }
        return n;
    }

    private ArrayNode targetNodesJson() {
        ArrayNode a = MAPPER.createArrayNode();
        if (target == null) {
            return a;
        }
        for (TargetNode t : target.targetNodes()) {
            a.add(targetNodeJson(t));
        }
        return a;
    }

    private static ObjectNode targetNodeJson(TargetNode t) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", t.name());
        n.put("alias_name", t.alias() == null ? "" : t.alias());
        ArrayNode maps = n.putArray("pg_ig_maps");
        for (PgIgMapping m : t.mappings()) {
            maps.addObject().put("pg_tag", m.portalGroupTag()).put("ig_tag", m.initiatorGroupTag());
        }
        ArrayNode luns = n.putArray("luns");
        for (ScsiLun l : t.luns()) {
            luns.addObject().put("bdev_name", l.bdev().name()).put("lun_id", l.id());
        }
        n.put("queue_depth", t.queueDepth());
        n.put("disable_chap", t.chap().disable());
        n.put("require_chap", t.chap().require());
        n.put("mutual_chap", t.chap().mutual());
        n.put("chap_group", t.chap().group());
        n.put("header_digest", t.requireHeaderDigest());
        n.put("data_digest", t.requireDataDigest());
        return n;
    }

    private ArrayNode connectionsJson() {
        ArrayNode a = MAPPER.createArrayNode();
        if (target == null) {
            return a;
        }
        int id = 0;
        for (ConnectionInfo c : target.connections()) {
            ObjectNode n = a.addObject();
            n.put("id", id++);
            n.put("cid", c.cid());
            n.put("tsih", c.tsih());
            n.put("lcore_id", c.reactor());
            n.put("initiator_addr", c.initiatorAddr());
            n.put("target_addr", c.targetAddr());
            n.put("target_node_name", c.targetNodeName() == null ? "" : c.targetNodeName());
            n.put("initiator_name", c.initiatorName() == null ? "" : c.initiatorName());
            n.put("isid", c.isid());
            n.put("pg_tag", c.portalGroupTag());
            n.put("session_type", c.discovery() ? "discovery" : "normal");
        }
        return a;
    }

    // ---- save_config ----

    @Override
    public synchronized List<ObjectNode> saveConfig() {
        List<ObjectNode> out = new ArrayList<>();
        IscsiOptions o = target == null ? options : target.options();
        ObjectNode opts = optionsJson(o);
        if (o.loginTimeout() == IscsiOptions.DEFAULT_LOGIN_TIMEOUT) {
            opts.remove("login_timeout"); // ustor's own key: a default config stays loadable by SPDK
        }
        out.add(call("iscsi_set_options", opts));
        if (target == null) {
            return out;
        }
        for (AuthGroup g : target.authGroups()) {
            out.add(call("iscsi_create_auth_group", authGroupJson(g)));
        }
        for (PortalGroup pg : target.portalGroups()) {
            out.add(call("iscsi_create_portal_group", portalGroupJson(pg)));
        }
        for (InitiatorGroup ig : target.initiatorGroups()) {
            out.add(call("iscsi_create_initiator_group", initiatorGroupJson(ig)));
        }
        for (TargetNode t : target.targetNodes()) {
            out.add(call("iscsi_create_target_node", targetNodeJson(t)));
        }
        return out;
    }

    private static ObjectNode call(String method, ObjectNode params) {
        ObjectNode c = MAPPER.createObjectNode();
        c.put("method", method);
        c.set("params", params);
        return c;
    }

    @Override
    public String summary() {
        if (target == null) {
            return "not started";
        }
        StringBuilder sb = new StringBuilder();
        for (PortalGroup pg : target.portalGroups()) {
            for (Portal p : pg.portals()) {
                if (!sb.isEmpty()) {
                    sb.append(", ");
                }
                sb.append("portal ").append(p);
            }
        }
        return sb.append(sb.isEmpty() ? "" : ", ").append(target.targetNodes().size()).append(" target(s)").toString();
    }

    @Override
    public synchronized void shutdown() {
        if (target != null) {
            target.close();
            target = null;
        }
    }
}
