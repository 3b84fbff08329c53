package io.ustor.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The {@code params} object of a request, with typed accessors. A missing required parameter or one of the wrong
 * type is an {@link RpcException} with code -32602 whose message names the parameter.
 */
public final class RpcParams {
    private static final RpcParams EMPTY = new RpcParams(MissingNode.getInstance());

    private final JsonNode node;

    private RpcParams(JsonNode node) {
        this.node = node;
    }

    /** Wraps {@code params}; null, JSON null and a missing node all mean "no parameters". */
    public static RpcParams of(JsonNode params) {
        if (params == null || params.isNull() || params.isMissingNode()) {
            return EMPTY;
        }
        return new RpcParams(params);
    }

    public static RpcParams empty() {
        return EMPTY;
    }

    /** The raw params: an object, an array, or a MissingNode when there were none. */
    public JsonNode node() {
        return node;
    }

    public boolean isEmpty() {
        return node.isMissingNode() || (node.isContainerNode() && node.isEmpty());
    }

    public boolean has(String name) {
        JsonNode v = node.get(name);
        return v != null && !v.isNull();
    }

    /** For methods that take none (SPDK: "X requires no parameters"). */
    public void requireNone(String method) throws RpcException {
        if (!isEmpty()) {
            throw RpcException.invalidParams(method + " requires no parameters");
        }
    }

    /** Rejects parameters this method does not know, so a misspelt name is an error rather than ignored. */
    public void allowOnly(Set<String> known) throws RpcException {
        if (node.isMissingNode()) {
            return;
        }
        requireObject();
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String n = names.next();
            if (!known.contains(n)) {
                throw RpcException.invalidParams("unknown parameter '" + n + "'");
            }
        }
    }

    public String requiredString(String name) throws RpcException {
        JsonNode v = value(name);
        if (v == null) {
            throw missing(name);
        }
        return asString(name, v);
    }

    public String optionalString(String name, String def) throws RpcException {
        JsonNode v = value(name);
        return v == null ? def : asString(name, v);
    }

    public long requiredLong(String name) throws RpcException {
        JsonNode v = value(name);
        if (v == null) {
            throw missing(name);
        }
        return asLong(name, v);
    }

    public long optionalLong(String name, long def) throws RpcException {
        JsonNode v = value(name);
        return v == null ? def : asLong(name, v);
    }

    /** A uint32 parameter (SPDK's most common integer type). */
    public int requiredUint32(String name) throws RpcException {
        return uint32(name, requiredLong(name));
    }

    public int optionalUint32(String name, int def) throws RpcException {
        return has(name) ? uint32(name, requiredLong(name)) : def;
    }

    public int optionalInt(String name, int def) throws RpcException {
        if (!has(name)) {
            return def;
        }
        long v = requiredLong(name);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw RpcException.invalidParams("parameter '" + name + "' is out of range: " + v);
        }
        return (int) v;
    }

    public boolean requiredBool(String name) throws RpcException {
        JsonNode v = value(name);
        if (v == null) {
            throw missing(name);
        }
        return asBool(name, v);
    }

    public boolean optionalBool(String name, boolean def) throws RpcException {
        JsonNode v = value(name);
        return v == null ? def : asBool(name, v);
    }

    public UUID optionalUuid(String name) throws RpcException {
        String s = optionalString(name, null);
        if (s == null) {
            return null;
        }
        try {
            return UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams("parameter '" + name + "' is not a UUID: " + s);
        }
    }

    /** An array of strings; null when absent. */
    public List<String> optionalStringList(String name) throws RpcException {
        JsonNode v = value(name);
        if (v == null) {
            return null;
        }
        if (!v.isArray()) {
            throw wrongType(name, "an array of strings", v);
        }
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode e : v) {
            out.add(asString(name, e));
        }
        return out;
    }

    /** A nested object or array parameter, or null when absent. */
    public JsonNode optionalNode(String name) throws RpcException {
        return value(name);
    }

    private JsonNode value(String name) throws RpcException {
        if (node.isMissingNode()) {
            return null;
        }
        requireObject();
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? null : v;
    }

    private void requireObject() throws RpcException {
        if (!node.isObject()) {
            throw RpcException.invalidParams("params must be an object, not " + typeName(node));
        }
    }

    private static int uint32(String name, long v) throws RpcException {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw RpcException.invalidParams("parameter '" + name + "' is out of range for uint32: " + v);
        }
        return (int) v;
    }

    private static String asString(String name, JsonNode v) throws RpcException {
        if (!v.isTextual()) {
            throw wrongType(name, "a string", v);
        }
        return v.textValue();
    }

    private static long asLong(String name, JsonNode v) throws RpcException {
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
        }
        // Python clients compute sizes with floats (e.g. 64.0 MiB / 512); accept integral values.
        if (v.isFloatingPointNumber()) {
            double d = v.doubleValue();
            if (d == Math.rint(d) && Math.abs(d) < 0x1p62) {
                return (long) d;
            }
        }
        throw wrongType(name, "an integer", v);
    }

    private static boolean asBool(String name, JsonNode v) throws RpcException {
        if (!v.isBoolean()) {
            throw wrongType(name, "a boolean", v);
        }
        return v.booleanValue();
    }

    private static RpcException missing(String name) {
        return RpcException.invalidParams("missing required parameter '" + name + "'");
    }

    private static RpcException wrongType(String name, String expected, JsonNode v) {
        return RpcException.invalidParams("parameter '" + name + "' must be " + expected + ", not " + typeName(v));
    }

    private static String typeName(JsonNode v) {
        JsonNodeType t = v.getNodeType();
        return switch (t) {
            case NUMBER -> v.isIntegralNumber() ? "an integer (" + v.asText() + ")" : "a number (" + v.asText() + ")";
            case STRING -> "a string";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            default -> t.name().toLowerCase();
        };
    }

    @Override
    public String toString() {
        return node.toString();
    }
}
