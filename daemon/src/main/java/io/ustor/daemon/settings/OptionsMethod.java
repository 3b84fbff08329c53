package io.ustor.daemon.settings;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One of SPDK's "set options" methods (iobuf_set_options, sock_impl_set_options, bdev_nvme_set_options...): its
 * parameters with SPDK's types, checked as SPDK checks them (unknown names and wrong types are invalid params),
 * and the values set so far, merged call after call, for save_config and the matching getter. Whether a value
 * changes anything in ustor is up to the hook that applies it ({@link Hook}); without one the values are kept so
 * that SPDK's saved configs load and save unchanged.
 */
public final class OptionsMethod {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Applies validated params (the whole merged set) or refuses them with a clear error. */
    @FunctionalInterface
    public interface Hook {
        void apply(ObjectNode merged) throws RpcException;
    }

    /** A parameter: its name and SPDK type (u8, u16, u32, u64, i32, bool, string, object, enum:a|b, bitmask:a|b). */
    public record Param(String name, String type, boolean required) {
        public static Param of(String spec) {
            int colon = spec.indexOf(' ');
            String name = spec.substring(0, colon);
            String type = spec.substring(colon + 1).trim();
            boolean required = type.endsWith("!");
            return new Param(name, required ? type.substring(0, type.length() - 1) : type, required);
        }
    }

    private final String name;
    private final Map<String, Param> params = new LinkedHashMap<>();
    private final ObjectNode values;
    private final Hook hook;
    private boolean set;

    /**
     * @param specs    "name type" per parameter, "!" after the type for a required one
     * @param defaults values reported before any call (may be empty)
     */
    public OptionsMethod(String name, List<String> specs, ObjectNode defaults, Hook hook) {
        this.name = name;
        for (String s : specs) {
            Param p = Param.of(s);
            params.put(p.name(), p);
        }
        this.values = defaults.deepCopy();
        this.hook = hook;
    }

    public String name() {
        return name;
    }

    /** Whether a call set something (so save_config writes it even without defaults). */
    public boolean wasSet() {
        return set;
    }

    /** The current values: the defaults with every call's params merged in. */
    public synchronized ObjectNode values() {
        return values.deepCopy();
    }

    /** The RPC: checks every param, merges them, lets the hook apply the result, then keeps it. */
    public synchronized Object call(RpcParams p) throws RpcException {
        p.allowOnly(params.keySet());
        JsonNode node = p.isEmpty() ? MAPPER.createObjectNode() : p.node();
        for (Param param : params.values()) {
            JsonNode v = node.get(param.name());
            if (v == null || v.isNull()) {
                if (param.required()) {
                    throw RpcException.invalidParams("missing required parameter '" + param.name() + "'");
                }
                continue;
            }
            check(param, v);
        }
        ObjectNode merged = values.deepCopy();
        node.properties().forEach(e -> {
            if (!e.getValue().isNull()) {
                merged.set(e.getKey(), e.getValue());
            }
        });
        if (hook != null) {
            hook.apply(merged);
        }
        values.removeAll();
        values.setAll(merged);
        set = true;
        return Boolean.TRUE;
    }

    /** The config entry: {"method": name, "params": values}. */
    public synchronized ObjectNode configEntry() {
        ObjectNode call = MAPPER.createObjectNode();
        call.put("method", name);
        call.set("params", values.deepCopy());
        return call;
    }

    private static void check(Param p, JsonNode v) throws RpcException {
        String t = p.type();
        switch (t) {
            case "u8" -> integer(p, v, 0, 0xFF);
            case "u16" -> integer(p, v, 0, 0xFFFF);
            case "u32" -> integer(p, v, 0, 0xFFFF_FFFFL);
            case "u64" -> integer(p, v, 0, Long.MAX_VALUE);
            case "i32" -> integer(p, v, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case "bool" -> {
                if (!v.isBoolean()) {
                    throw wrong(p, "a boolean", v);
                }
            }
            case "string" -> {
                if (!v.isTextual()) {
                    throw wrong(p, "a string", v);
                }
            }
            case "object" -> {
                if (!v.isObject()) {
                    throw wrong(p, "an object", v);
                }
            }
            default -> {
                Set<String> allowed = Set.of(t.substring(t.indexOf(':') + 1).split("\\|"));
                if (t.startsWith("enum:")) {
                    if (!v.isTextual() || !allowed.contains(v.textValue())) {
                        throw RpcException.invalidParams("parameter '" + p.name() + "' must be one of "
                                + String.join(", ", allowed.stream().sorted().toList()) + ", not " + v);
                    }
                } else if (t.startsWith("bitmask:")) {
                    if (!v.isArray()) {
                        throw wrong(p, "an array of names", v);
                    }
                    for (JsonNode e : v) {
                        if (!e.isTextual() || !allowed.contains(e.textValue())) {
                            throw RpcException.invalidParams("parameter '" + p.name() + "': unknown value " + e);
                        }
                    }
                } else {
                    throw new IllegalStateException("parameter type " + t);
                }
            }
        }
    }

    private static void integer(Param p, JsonNode v, long min, long max) throws RpcException {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw wrong(p, "an integer", v);
        }
        long x = v.longValue();
        if (x < min || x > max) {
            throw RpcException.invalidParams("parameter '" + p.name() + "' is out of range: " + x);
        }
    }

    private static RpcException wrong(Param p, String what, JsonNode v) {
        return RpcException.invalidParams("parameter '" + p.name() + "' must be " + what + ", not " + v.getNodeType()
                .name().toLowerCase());
    }
}
