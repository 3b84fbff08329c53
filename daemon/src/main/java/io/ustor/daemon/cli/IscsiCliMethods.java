package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.cli.CliArgs.Type;
import io.ustor.daemon.cli.CliMethod.Output;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ustor-rpc's iscsi_* commands in rpc.py's form (python/spdk/cli/iscsi.py) for the methods the iscsi subsystem
 * implements: quoted, space-separated lists for LUNs, portals, maps, initiators and netmasks, "user:u secret:s"
 * CHAP secrets separated by commas. Like rpc.py, the create/delete commands print nothing.
 */
final class IscsiCliMethods {
    private IscsiCliMethods() {
    }

    static void addTo(Map<String, CliMethod> m) {
        add(m, "iscsi_set_options", "Set options of iSCSI subsystem", new CliArgs()
                        .option("-f", "--auth-file", "auth_file", Type.STRING, "path to CHAP shared secret file")
                        .option("-b", "--node-base", "node_base", Type.STRING, "prefix of the name of iSCSI target node")
                        .option("-o", "--nop-timeout", "nop_timeout", Type.INT,
                                "NOP-In request timeout to the initiator in seconds")
                        .option("-n", "--nop-in-interval", "nop_in_interval", Type.INT,
                                "interval between NOP-In requests from the target in seconds")
                        .option(null, "--login-timeout", "login_timeout", Type.INT,
                                "seconds a connection may take to log in (ustor's own; SPDK has no such option)")
                        .option("-d", "--disable-chap", "disable_chap", Type.FLAG, "disable CHAP for discovery session")
                        .option("-r", "--require-chap", "require_chap", Type.FLAG, "require CHAP for discovery session")
                        .option("-m", "--mutual-chap", "mutual_chap", Type.FLAG,
                                "enable bidirectional CHAP for discovery session")
                        .option("-g", "--chap-group", "chap_group", Type.INT, "CHAP auth group for discovery session")
                        .option("-a", "--max-sessions", "max_sessions", Type.INT, "maximum number of sessions")
                        .option("-q", "--max-queue-depth", "max_queue_depth", Type.INT,
                                "maximum number of outstanding I/Os per queue")
                        .option("-c", "--max-connections-per-session", "max_connections_per_session", Type.INT,
                                "negotiated MaxConnections value per session")
                        .option("-w", "--default-time2wait", "default_time2wait", Type.INT,
                                "negotiated DefaultTime2Wait value in seconds")
                        .option("-v", "--default-time2retain", "default_time2retain", Type.INT,
                                "negotiated DefaultTime2Retain value in seconds")
                        .option("-s", "--first-burst-length", "first_burst_length", Type.INT,
                                "negotiated FirstBurstLength value in bytes")
                        .option("-i", "--immediate-data", "immediate_data", Type.FLAG, "negotiated ImmediateData value")
                        .option("-l", "--error-recovery-level", "error_recovery_level", Type.INT,
                                "negotiated ErrorRecoveryLevel value (only 0)")
                        .option("-p", "--allow-duplicated-isid", "allow_duplicated_isid", Type.FLAG,
                                "allow duplicated initiator session ID")
                        .option("-x", "--max-large-datain-per-connection", "max_large_datain_per_connection", Type.INT,
                                "maximum number of outstanding split read I/Os per connection")
                        .option("-k", "--max-r2t-per-connection", "max_r2t_per_connection", Type.INT,
                                "maximum number of outstanding R2Ts per connection")
                        .option("-u", "--pdu-pool-size", "pdu_pool_size", Type.INT, "number of PDUs in the pool")
                        .option("-j", "--immediate-data-pool-size", "immediate_data_pool_size", Type.INT,
                                "number of immediate data buffers in the pool")
                        .option("-z", "--data-out-pool-size", "data_out_pool_size", Type.INT,
                                "number of data out buffers in the pool"),
                IscsiCliMethods::chapExclusive, Output.NONE);
        add(m, "iscsi_get_options", "Display iSCSI global parameters", new CliArgs(), IscsiCliMethods::copy,
                Output.DICT);
        add(m, "iscsi_set_discovery_auth", "Set CHAP authentication for discovery session", new CliArgs()
                        .option("-d", "--disable-chap", "disable_chap", Type.FLAG, "disable CHAP for discovery session")
                        .option("-r", "--require-chap", "require_chap", Type.FLAG, "require CHAP for discovery session")
                        .option("-m", "--mutual-chap", "mutual_chap", Type.FLAG,
                                "enable bidirectional CHAP for discovery session")
                        .option("-g", "--chap-group", "chap_group", Type.INT, "CHAP auth group for discovery session"),
                IscsiCliMethods::chapExclusive, Output.NONE);

        add(m, "iscsi_create_auth_group", "Create authentication group for CHAP authentication", new CliArgs()
                        .positional("tag", Type.INT, "authentication group tag (unique, integer > 0)")
                        .option("-c", "--secrets", "secrets", Type.STRING, "comma-separated list of CHAP secrets "
                                + "enclosed in quotes: 'user:u1 secret:s1 muser:mu1 msecret:ms1,user:u2 secret:s2'"),
                IscsiCliMethods::authGroup, Output.NONE);
        add(m, "iscsi_delete_auth_group", "Delete an authentication group", new CliArgs()
                        .positional("tag", Type.INT, "authentication group tag (unique, integer > 0)"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_auth_group_add_secret", "Add a secret to an authentication group", new CliArgs()
                        .positional("tag", Type.INT, "authentication group tag (unique, integer > 0)")
                        .requiredOption("-u", "--user", "user", Type.STRING, "user name for one-way CHAP")
                        .requiredOption("-s", "--secret", "secret", Type.STRING, "secret for one-way CHAP")
                        .option("-m", "--muser", "muser", Type.STRING, "user name for mutual CHAP")
                        .option("-r", "--msecret", "msecret", Type.STRING, "secret for mutual CHAP"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_auth_group_remove_secret", "Remove a secret from an authentication group", new CliArgs()
                        .positional("tag", Type.INT, "authentication group tag (unique, integer > 0)")
                        .requiredOption("-u", "--user", "user", Type.STRING, "user name for one-way CHAP"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_get_auth_groups", "Display current authentication group configuration", new CliArgs(),
                IscsiCliMethods::copy, Output.DICT);

        add(m, "iscsi_create_portal_group", "Add a portal group", new CliArgs()
                        .positional("tag", Type.INT, "portal group tag (unique, integer > 0)")
                        .positional("portals", Type.STRING, "portals in host:port format, separated by whitespace, "
                                + "e.g. '192.168.100.100:3260 192.168.100.100:3261'")
                        .option("-p", "--private", "private", Type.FLAG,
                                "private portal group: its portals are not returned by discovery"),
                IscsiCliMethods::portalGroup, Output.NONE);
        add(m, "iscsi_delete_portal_group", "Delete a portal group", new CliArgs()
                        .positional("tag", Type.INT, "portal group tag (unique, integer > 0)"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_get_portal_groups", "Display current portal group configuration", new CliArgs(),
                IscsiCliMethods::copy, Output.DICT);

        add(m, "iscsi_create_initiator_group", "Add an initiator group", new CliArgs()
                        .positional("tag", Type.INT, "initiator group tag (unique, integer > 0)")
                        .positional("initiators", Type.STRING, "whitespace-separated initiator names or IP addresses, "
                                + "in quotes, e.g. 'ANY' or 'iqn.2016-06.io.spdk:host1 iqn.2016-06.io.spdk:host2'")
                        .positional("netmasks", Type.STRING, "whitespace-separated initiator netmasks in quotes, "
                                + "e.g. '127.0.0.1/32 192.168.0.0/16' or 'ANY'"),
                IscsiCliMethods::initiatorGroup, Output.NONE);
        add(m, "iscsi_initiator_group_add_initiators", "Add initiators to an existing initiator group", new CliArgs()
                        .positional("tag", Type.INT, "initiator group tag (unique, integer > 0)")
                        .option("-n", null, "initiators", Type.STRING,
                                "whitespace-separated initiator names or IP addresses, in quotes")
                        .option("-m", null, "netmasks", Type.STRING, "whitespace-separated netmasks, in quotes"),
                IscsiCliMethods::initiatorGroup, Output.NONE);
        add(m, "iscsi_delete_initiator_group", "Delete an initiator group", new CliArgs()
                        .positional("tag", Type.INT, "initiator group tag (unique, integer > 0)"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_get_initiator_groups", "Display current initiator group configuration", new CliArgs(),
                IscsiCliMethods::copy, Output.DICT);

        add(m, "iscsi_create_target_node", "Add a target node", new CliArgs()
                        .positional("name", Type.STRING, "target node name (ASCII); without iqn./eui./naa. the "
                                + "node base is prefixed")
                        .positional("alias_name", Type.STRING, "target node alias name (ASCII)")
                        .positional("luns", Type.STRING, "whitespace-separated bdev_name:LUN_ID pairs in quotes, "
                                + "e.g. 'Malloc0:0 Malloc1:1'; the bdevs must exist, LUN 0 is required")
                        .positional("pg_ig_maps", Type.STRING, "whitespace-separated portal_group_tag:"
                                + "initiator_group_tag pairs in quotes, e.g. '1:1 2:2'")
                        .positional("queue_depth", Type.INT, "target queue depth")
                        .option("-g", "--chap-group", "chap_group", Type.INT, "auth group for this target node")
                        .option("-d", "--disable-chap", "disable_chap", Type.FLAG, "disable CHAP for this target node")
                        .option("-r", "--require-chap", "require_chap", Type.FLAG, "require CHAP for this target node")
                        .option("-m", "--mutual-chap", "mutual_chap", Type.FLAG, "bidirectional CHAP for this node")
                        .option("-H", "--header-digest", "header_digest", Type.FLAG, "require Header Digest")
                        .option("-D", "--data-digest", "data_digest", Type.FLAG, "require Data Digest"),
                IscsiCliMethods::targetNode, Output.NONE);
        add(m, "iscsi_target_node_add_lun", "Add LUN to the target node", new CliArgs()
                        .positional("name", Type.STRING, "target node name (ASCII)")
                        .positional("bdev_name", Type.STRING, "bdev to add as a LUN")
                        .option("-i", null, "lun_id", Type.INT, "LUN ID; -1 or omitted assigns the lowest free ID"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_delete_target_node", "Delete a target node", new CliArgs()
                        .positional("name", Type.STRING, "target node name (ASCII)"),
                IscsiCliMethods::copy, Output.NONE);
        add(m, "iscsi_get_target_nodes", "Display target nodes", new CliArgs(), IscsiCliMethods::copy, Output.DICT);
        add(m, "iscsi_get_connections", "Display iSCSI connections", new CliArgs(), IscsiCliMethods::copy,
                Output.DICT);
    }

    private static void add(Map<String, CliMethod> m, String name, String help, CliArgs args,
                            CliMethod.ParamBuilder b, Output out) {
        m.put(name, new CliMethod(name, help, args, b, out));
    }

    private static ObjectNode copy(Map<String, Object> v, ObjectNode p) {
        for (Map.Entry<String, Object> e : v.entrySet()) {
            switch (e.getValue()) {
                case String s -> p.put(e.getKey(), s);
                case Long l -> p.put(e.getKey(), l);
                case Boolean b -> p.put(e.getKey(), b);
                default -> p.put(e.getKey(), String.valueOf(e.getValue()));
            }
        }
        return p;
    }

    /** argparse's mutually exclusive group of rpc.py: -d and -r. */
    private static ObjectNode chapExclusive(Map<String, Object> v, ObjectNode p) throws UsageException {
        if (v.containsKey("disable_chap") && v.containsKey("require_chap")) {
            throw new UsageException("argument -r/--require-chap: not allowed with argument -d/--disable-chap");
        }
        return copy(v, p);
    }

    /** rpc.py's str.split(sep=' '): quoted lists, empty items (double spaces) skipped. */
    private static List<String> words(Object s) {
        List<String> out = new ArrayList<>();
        if (s != null) {
            for (String w : String.valueOf(s).split(" ")) {
                if (!w.isEmpty()) {
                    out.add(w);
                }
            }
        }
        return out;
    }

    private static String[] pair(String method, String what, String item) throws UsageException {
        int c = item.lastIndexOf(':');
        if (c <= 0 || c == item.length() - 1) {
            throw new UsageException(method + ": " + what + " '" + item + "' is not in A:B form");
        }
        return new String[] {item.substring(0, c), item.substring(c + 1)};
    }

    private static int tagOf(String method, String what, String s) throws UsageException {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new UsageException(method + ": " + what + " '" + s + "' is not an integer");
        }
    }

    private static ObjectNode authGroup(Map<String, Object> v, ObjectNode p) throws UsageException {
        Map<String, Object> rest = new LinkedHashMap<>(v);
        Object secrets = rest.remove("secrets");
        copy(rest, p);
        if (secrets != null && !String.valueOf(secrets).isEmpty()) {
            ArrayNode a = p.putArray("secrets");
            for (String one : String.valueOf(secrets).split(",")) {
                ObjectNode s = a.addObject();
                for (String kv : words(one)) {
                    int c = kv.indexOf(':');
                    if (c <= 0) {
                        throw new UsageException("iscsi_create_auth_group: secret item '" + kv
                                + "' is not key:value (user, secret, muser, msecret)");
                    }
                    s.put(kv.substring(0, c), kv.substring(c + 1));
                }
            }
        }
        return p;
    }

    private static ObjectNode portalGroup(Map<String, Object> v, ObjectNode p) throws UsageException {
        Map<String, Object> rest = new LinkedHashMap<>(v);
        List<String> portals = words(rest.remove("portals"));
        copy(rest, p);
        ArrayNode a = p.putArray("portals");
        for (String s : portals) {
            String[] hp = pair("iscsi_create_portal_group", "portal", s);
            String host = hp[0].startsWith("[") && hp[0].endsWith("]") ? hp[0].substring(1, hp[0].length() - 1) : hp[0];
            a.addObject().put("host", host).put("port", hp[1]);
        }
        return p;
    }

    private static ObjectNode initiatorGroup(Map<String, Object> v, ObjectNode p) {
        Map<String, Object> rest = new LinkedHashMap<>(v);
        Object initiators = rest.remove("initiators");
        Object netmasks = rest.remove("netmasks");
        copy(rest, p);
        ArrayNode i = p.putArray("initiators");
        words(initiators).forEach(i::add);
        ArrayNode n = p.putArray("netmasks");
        words(netmasks).forEach(n::add);
        return p;
    }

    private static ObjectNode targetNode(Map<String, Object> v, ObjectNode p) throws UsageException {
        String method = "iscsi_create_target_node";
        if (v.containsKey("disable_chap") && v.containsKey("require_chap")) {
            throw new UsageException("argument -r/--require-chap: not allowed with argument -d/--disable-chap");
        }
        Map<String, Object> rest = new LinkedHashMap<>(v);
        List<String> luns = words(rest.remove("luns"));
        List<String> maps = words(rest.remove("pg_ig_maps"));
        p.put("name", (String) rest.remove("name"));
        p.put("alias_name", (String) rest.remove("alias_name"));
        ArrayNode l = p.putArray("luns");
        for (String s : luns) {
            String[] bl = pair(method, "LUN", s);
            l.addObject().put("bdev_name", bl[0]).put("lun_id", tagOf(method, "LUN id", bl[1]));
        }
        ArrayNode m = p.putArray("pg_ig_maps");
        for (String s : maps) {
            String[] pi = pair(method, "portal group:initiator group map", s);
            m.addObject().put("pg_tag", tagOf(method, "portal group tag", pi[0]))
                    .put("ig_tag", tagOf(method, "initiator group tag", pi[1]));
        }
        return copy(rest, p);
    }
}
