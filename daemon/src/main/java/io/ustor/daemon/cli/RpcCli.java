package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** ustor-rpc's work: global options, the method's arguments, the call, rpc.py-style output. */
public final class RpcCli {
    public static final String DEFAULT_SOCKET = "/var/tmp/ustor.sock";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private RpcCli() {
    }

    private static final class RpcError extends Exception {
        RpcError(String message) {
            super(message, null, false, false);
        }
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        try {
            return runOrThrow(argv, out);
        } catch (UsageException e) {
            err.println("ustor-rpc: " + e.getMessage());
            return 2;
        } catch (RpcError e) {
            err.println(e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("ustor-rpc: " + e.getMessage());
            return 1;
        }
    }

    private static int runOrThrow(String[] argv, PrintStream out) throws UsageException, RpcError, IOException {
        Path socket = Path.of(DEFAULT_SOCKET);
        Duration timeout = Duration.ofSeconds(60);
        int i = 0;
        for (; i < argv.length && argv[i].startsWith("-"); i++) {
            switch (argv[i]) {
                case "-s" -> socket = Path.of(value(argv, ++i, "-s"));
                case "-t" -> {
                    String v = value(argv, ++i, "-t");
                    try {
                        double s = Double.parseDouble(v);
                        if (!(s > 0)) {
                            throw new NumberFormatException();
                        }
                        timeout = Duration.ofMillis((long) (s * 1000));
                    } catch (NumberFormatException e) {
                        throw new UsageException("invalid timeout for -t: '" + v + "' (seconds > 0)");
                    }
                }
                case "-h", "--help" -> {
                    out.print(usage());
                    return 0;
                }
                default -> throw new UsageException("unknown option " + argv[i]);
            }
        }
        if (i >= argv.length) {
            throw new UsageException("no method given (ustor-rpc --help lists them)");
        }
        String method = argv[i];
        List<String> rest = Arrays.asList(argv).subList(i + 1, argv.length);
        if (rest.contains("-h") || rest.contains("--help")) {
            out.print(methodHelp(method));
            return 0;
        }
        switch (method) {
            case "save_config" -> {
                return saveConfig(socket, timeout, rest, out);
            }
            case "load_config" -> {
                return loadConfig(socket, timeout, rest);
            }
            case "call" -> {
                return genericCall(socket, timeout, rest, out);
            }
            default -> {
            }
        }
        CliMethod m = CliMethods.all().get(method);
        if (m == null) {
            throw new UsageException("unknown method " + method + " (ustor-rpc --help lists them; "
                    + "'ustor-rpc call METHOD [JSON]' calls any method)");
        }
        ObjectNode params = m.params().build(m.args().parse(method, rest), MAPPER.createObjectNode());
        try (UnixRpcClient c = new UnixRpcClient(socket, timeout)) {
            JsonNode result = call(c, method, params);
            print(out, m.output(), result);
        } catch (IOException e) {
            if (method.equals("spdk_kill_instance")) {
                return 0; // as rpc.py: the daemon may go away before it answers
            }
            throw e;
        }
        return 0;
    }

    private static String value(String[] argv, int i, String opt) throws UsageException {
        if (i >= argv.length) {
            throw new UsageException("option " + opt + " needs a value");
        }
        return argv[i];
    }

    /** The result, or an RpcError carrying rpc.py's error text. */
    static JsonNode call(UnixRpcClient c, String method, ObjectNode params) throws IOException, RpcError {
        JsonNode resp = c.call(method, params);
        JsonNode error = resp.get("error");
        if (error != null) {
            ObjectNode req = params.deepCopy();
            req.put("method", method);
            req.set("req_id", resp.get("id"));
            throw new RpcError("request:\n" + PythonJson.dumps(req, 2) + "\nGot JSON-RPC error response\nresponse:\n"
                    + PythonJson.dumps(error, 2));
        }
        JsonNode result = resp.get("result");
        return result == null ? MAPPER.nullNode() : result;
    }

    private static void print(PrintStream out, CliMethod.Output mode, JsonNode result) {
        switch (mode) {
            case NONE -> {
            }
            case JSON -> out.println(result.isTextual() ? result.textValue() : PythonJson.dumps(result, 2));
            case DICT -> out.println(PythonJson.dumps(result, 2));
            case ARRAY -> {
                StringBuilder line = new StringBuilder();
                for (JsonNode v : result) {
                    line.append(line.isEmpty() ? "" : " ").append(shellQuote(v.asText()));
                }
                out.println(line);
            }
        }
    }

    /** Python's shlex.quote. */
    private static String shellQuote(String s) {
        if (!s.isEmpty() && s.matches("[A-Za-z0-9_@%+=:,./-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }

    /** Like rpc.py: framework_get_subsystems, then framework_get_config for each. */
    private static int saveConfig(Path socket, Duration timeout, List<String> rest, PrintStream out)
            throws UsageException, RpcError, IOException {
        Map<String, Object> v = new CliArgs()
                .option("-i", "--indent", "indent", CliArgs.Type.INT, "indent level; < 0: compact")
                .option("-s", "--subsystems", "subsystems", CliArgs.Type.CSV, "subsystems (and their dependencies)")
                .parse("save_config", rest);
        long indent = v.containsKey("indent") ? (Long) v.get("indent") : 2;
        try (UnixRpcClient c = new UnixRpcClient(socket, timeout)) {
            JsonNode subs = call(c, "framework_get_subsystems", MAPPER.createObjectNode());
            Set<String> wanted = null;
            if (v.containsKey("subsystems")) {
                wanted = new HashSet<>();
                for (Object s : (List<?>) v.get("subsystems")) {
                    addWithDependencies(subs, String.valueOf(s), wanted);
                }
            }
            ObjectNode config = MAPPER.createObjectNode();
            ArrayNode list = config.putArray("subsystems");
            for (JsonNode s : subs) {
                String name = s.get("subsystem").asText();
                if (wanted != null && !wanted.contains(name)) {
                    continue;
                }
                ObjectNode p = MAPPER.createObjectNode();
                p.put("name", name);
                ObjectNode o = list.addObject();
                o.put("subsystem", name);
                o.set("config", call(c, "framework_get_config", p));
            }
            out.println(indent < 0 ? MAPPER.writeValueAsString(config) : PythonJson.dumps(config, (int) indent));
        }
        return 0;
    }

    private static void addWithDependencies(JsonNode subs, String name, Set<String> into) throws UsageException {
        for (JsonNode s : subs) {
            if (s.get("subsystem").asText().equals(name)) {
                if (into.add(name)) {
                    for (JsonNode d : s.get("depends_on")) {
                        addWithDependencies(subs, d.asText(), into);
                    }
                }
                return;
            }
        }
        throw new UsageException("save_config: no subsystem " + name);
    }

    /** Like rpc.py's load_config: every call of the file in order, then framework_start_init if still due. */
    private static int loadConfig(Path socket, Duration timeout, List<String> rest)
            throws UsageException, RpcError, IOException {
        Map<String, Object> v = new CliArgs()
                .option("-j", "--json-conf", "json_conf", CliArgs.Type.STRING, "JSON config file; default stdin")
                .option("-i", "--include-aliases", "include_aliases", CliArgs.Type.FLAG, "include aliases")
                .parse("load_config", rest);
        JsonNode config;
        if (v.containsKey("json_conf")) {
            config = MAPPER.readTree(Files.readAllBytes(Path.of((String) v.get("json_conf"))));
        } else {
            try (InputStream in = System.in) {
                config = MAPPER.readTree(in);
            }
        }
        List<ObjectNode> calls = new ArrayList<>();
        for (JsonNode s : config.path("subsystems")) {
            for (JsonNode e : s.path("config")) {
                if (e.isArray()) {
                    e.forEach(x -> calls.add((ObjectNode) x));
                } else {
                    calls.add((ObjectNode) e);
                }
            }
        }
        try (UnixRpcClient c = new UnixRpcClient(socket, timeout)) {
            JsonNode known = call(c, "rpc_get_methods", MAPPER.createObjectNode());
            Set<String> methods = new HashSet<>();
            known.forEach(n -> methods.add(n.asText()));
            for (ObjectNode e : calls) {
                if (!methods.contains(e.path("method").asText())) {
                    throw new RpcError("Unknown method was included in the config file: " + e.path("method").asText());
                }
            }
            for (ObjectNode e : calls) {
                JsonNode p = e.get("params");
                call(c, e.get("method").asText(), p instanceof ObjectNode o ? o : MAPPER.createObjectNode());
            }
            ObjectNode current = MAPPER.createObjectNode();
            current.put("current", true);
            for (JsonNode n : call(c, "rpc_get_methods", current)) {
                if (n.asText().equals("framework_start_init")) {
                    call(c, "framework_start_init", MAPPER.createObjectNode());
                }
            }
        }
        return 0;
    }

    /** {@code ustor-rpc call METHOD ['{"param": ...}']}: any method, printed as JSON. */
    private static int genericCall(Path socket, Duration timeout, List<String> rest, PrintStream out)
            throws UsageException, RpcError, IOException {
        if (rest.isEmpty() || rest.size() > 2) {
            throw new UsageException("usage: ustor-rpc call METHOD ['{JSON params}']");
        }
        ObjectNode params = MAPPER.createObjectNode();
        if (rest.size() == 2) {
            JsonNode p;
            try {
                p = MAPPER.readTree(rest.get(1));
            } catch (IOException e) {
                throw new UsageException("call: params are not valid JSON: " + e.getMessage());
            }
            if (!(p instanceof ObjectNode o)) {
                throw new UsageException("call: params must be a JSON object");
            }
            params = o;
        }
        try (UnixRpcClient c = new UnixRpcClient(socket, timeout)) {
            out.println(PythonJson.dumps(call(c, rest.get(0), params), 2));
        }
        return 0;
    }

    static String usage() {
        StringBuilder sb = new StringBuilder("""
                usage: ustor-rpc [-s SOCKET] [-t TIMEOUT] METHOD [arguments]     (SPDK rpc.py's form)
                  -s SOCKET   RPC Unix socket (default /var/tmp/ustor.sock)
                  -t TIMEOUT  seconds to wait for a response (default 60)
                  ustor-rpc METHOD --help shows a method's arguments.
                methods:
                """);
        for (CliMethod m : CliMethods.all().values()) {
            sb.append(String.format("  %-26s %s%n", m.name(), m.help()));
        }
        sb.append(String.format("  %-26s %s%n", "save_config", "Write the live configuration (SPDK JSON config)"));
        sb.append(String.format("  %-26s %s%n", "load_config", "Apply an SPDK JSON config (-j FILE or stdin)"));
        sb.append(String.format("  %-26s %s%n", "call", "Call any method: call METHOD ['{JSON params}']"));
        return sb.toString();
    }

    static String methodHelp(String method) throws UsageException {
        return switch (method) {
            case "save_config" -> "usage: ustor-rpc save_config [-i INDENT] [-s SUBSYSTEMS]\n"
                    + "Write the live configuration in SPDK's JSON config format to stdout.\n";
            case "load_config" -> "usage: ustor-rpc load_config [-j FILE] [-i]\n"
                    + "Apply an SPDK JSON config (from FILE or stdin) call by call.\n";
            case "call" -> "usage: ustor-rpc call METHOD ['{JSON params}']\nCall any method, print its result.\n";
            default -> {
                CliMethod m = CliMethods.all().get(method);
                if (m == null) {
                    throw new UsageException("unknown method " + method);
                }
                yield m.args().usage(method) + "\n\n" + m.help() + "\n" + (m.args().args.isEmpty() ? ""
                        : "\narguments:\n" + m.args().help());
            }
        };
    }
}
