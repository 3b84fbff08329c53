package io.ustor.daemon.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.RpcState;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Applies an SPDK JSON config: {"subsystems":[{"subsystem":"bdev","config":[{"method":..,"params":{..}},..]},..]}.
 * Every entry is an RPC call through the same registry the socket uses, so a config file and rpc.py do exactly
 * the same things. As in SPDK: while in the STARTUP state the entries callable before init run first, then the
 * framework is initialised (by framework_start_init, or by waiting for an RPC client to send it with
 * --wait-for-rpc), then the rest run in file order. A "config" may hold batches (arrays of calls); null and empty
 * configs are skipped.
 */
public final class JsonConfigLoader {
    private static final System.Logger LOG = System.getLogger(JsonConfigLoader.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private record Call(String subsystem, int index, String method, JsonNode params) {
    }

    private JsonConfigLoader() {
    }

    /** Loads a file; the framework is initialised by this loader if it is still in STARTUP. */
    public static void load(RpcRegistry rpc, Path file) throws IOException, RpcException {
        apply(rpc, parse(file), file.toString(), true);
    }

    public static JsonNode parse(Path file) throws IOException {
        try {
            return MAPPER.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new IOException("config " + file + " is not valid JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr(), e);
        }
    }

    public static void apply(RpcRegistry rpc, JsonNode config, String source) throws RpcException {
        apply(rpc, config, source, true);
    }

    /**
     * @param startInit in the STARTUP state: true calls framework_start_init after the startup entries; false waits
     *                  until someone else does (ustord --wait-for-rpc)
     */
    public static void apply(RpcRegistry rpc, JsonNode config, String source, boolean startInit) throws RpcException {
        List<Call> calls = calls(config, source);
        for (Call c : calls) {
            if (!rpc.contains(c.method)) {
                throw new RpcException(RpcException.METHOD_NOT_FOUND, describe(source, c)
                        + ": unknown method " + c.method);
            }
        }
        List<Call> rest = new ArrayList<>(calls);
        if (rpc.state() == RpcState.STARTUP) {
            List<String> startupMethods = rpc.methods(true);
            for (Call c : calls) {
                if (startupMethods.contains(c.method) && !c.method.equals("framework_start_init")) {
                    run(rpc, source, c);
                    rest.remove(c);
                }
            }
            if (startInit) {
                rpc.callAndWait("framework_start_init", null);
            } else {
                LOG.log(System.Logger.Level.INFO, "waiting for framework_start_init before applying the rest of {0}",
                        source);
                try {
                    rpc.runtimeReached().get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw RpcException.internal("interrupted while waiting for framework_start_init");
                } catch (ExecutionException e) {
                    throw RpcException.internal("framework init failed: " + e.getCause());
                }
            }
        }
        List<String> runtimeMethods = rpc.methods(true);
        int skipped = 0;
        for (Call c : rest) {
            if (c.method.equals("framework_start_init")) {
                continue;
            }
            if (!runtimeMethods.contains(c.method)) {
                // A startup-only setting (iobuf_set_options...) in a config applied at runtime: as rpc.py's
                // load_config does, skip it rather than fail the whole config.
                LOG.log(System.Logger.Level.WARNING, "{0}: skipped, callable only before framework_start_init",
                        describe(source, c));
                skipped++;
                continue;
            }
            run(rpc, source, c);
        }
        if (skipped > 0) {
            LOG.log(System.Logger.Level.WARNING, "{0}: {1} startup-only calls skipped (the framework was running)",
                    source, skipped);
        }
        LOG.log(System.Logger.Level.INFO, "applied {0} calls from {1}", calls.size(), source);
    }

    private static void run(RpcRegistry rpc, String source, Call c) throws RpcException {
        try {
            rpc.callAndWait(c.method, c.params);
        } catch (RpcException e) {
            throw new RpcException(e.code(), describe(source, c) + ": " + e.getMessage(), e);
        }
    }

    private static String describe(String source, Call c) {
        return source + ": subsystem " + c.subsystem + ", entry " + c.index + " (" + c.method + ")";
    }

    private static List<Call> calls(JsonNode config, String source) throws RpcException {
        if (config == null || !config.isObject()) {
            throw RpcException.invalidParams(source + ": a config is a JSON object with a \"subsystems\" array");
        }
        JsonNode subsystems = config.get("subsystems");
        List<Call> out = new ArrayList<>();
        if (subsystems == null || subsystems.isNull()) {
            return out;
        }
        if (!subsystems.isArray()) {
            throw RpcException.invalidParams(source + ": \"subsystems\" must be an array");
        }
        for (JsonNode s : subsystems) {
            JsonNode name = s.get("subsystem");
            if (!s.isObject() || name == null || !name.isTextual()) {
                throw RpcException.invalidParams(source + ": every subsystem needs a \"subsystem\" name");
            }
            JsonNode entries = s.get("config");
            if (entries == null || entries.isNull()) {
                continue;
            }
            if (!entries.isArray()) {
                throw RpcException.invalidParams(source + ": subsystem " + name.textValue()
                        + ": \"config\" must be an array");
            }
            int index = 0;
            for (JsonNode e : entries) {
                if (e.isArray()) {
                    for (JsonNode inBatch : e) {
                        out.add(call(source, name.textValue(), index++, inBatch));
                    }
                } else {
                    out.add(call(source, name.textValue(), index++, e));
                }
            }
        }
        return out;
    }

    private static Call call(String source, String subsystem, int index, JsonNode e) throws RpcException {
        JsonNode method = e.get("method");
        if (!e.isObject() || method == null || !method.isTextual()) {
            throw RpcException.invalidParams(source + ": subsystem " + subsystem + ", entry " + index
                    + ": needs a \"method\" string");
        }
        return new Call(subsystem, index, method.textValue(), e.get("params"));
    }
}
