package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;

/**
 * JSON text exactly as Python's json.dumps(value, indent=2) writes it (what rpc.py prints), so scripts that
 * compare or parse rpc.py output work with ustor-rpc: two-space indent, ", " never at line ends, ": " after
 * keys, "[]"/"{}" when empty, non-ASCII escaped as \\uXXXX.
 */
public final class PythonJson {
    private PythonJson() {
    }

    public static String dumps(JsonNode v, int indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, v, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonNode v, int indent, int level) {
        if (v.isObject()) {
            if (v.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonNode> e : v.properties()) {
                sb.append(first ? "" : ",");
                first = false;
                newline(sb, indent, level + 1);
                string(sb, e.getKey());
                sb.append(": ");
                write(sb, e.getValue(), indent, level + 1);
            }
            newline(sb, indent, level);
            sb.append('}');
        } else if (v.isArray()) {
            if (v.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (JsonNode e : v) {
                sb.append(first ? "" : ",");
                first = false;
                newline(sb, indent, level + 1);
                write(sb, e, indent, level + 1);
            }
            newline(sb, indent, level);
            sb.append(']');
        } else if (v.isTextual()) {
            string(sb, v.textValue());
        } else if (v.isNull() || v.isMissingNode()) {
            sb.append("null");
        } else {
            sb.append(v.asText()); // numbers and booleans
        }
    }

    private static void newline(StringBuilder sb, int indent, int level) {
        sb.append('\n');
        sb.append(" ".repeat(indent * level));
    }

    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
