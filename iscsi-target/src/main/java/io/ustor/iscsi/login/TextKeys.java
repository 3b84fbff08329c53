package io.ustor.iscsi.login;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The key=value text of Login and Text PDUs (RFC 7143 section 6): UTF-8 pairs, each ended by a NUL byte. Control
 * plane (login and discovery), so it works on Java strings.
 */
public final class TextKeys {
    /** RFC 7143 section 6.1: keys up to 63 bytes, values up to 8192 bytes (255 for most; we accept the larger). */
    static final int MAX_KEY = 63, MAX_VALUE = 8192;

    private final List<String> keys = new ArrayList<>();
    private final List<String> values = new ArrayList<>();

    /** One key=value pair. */
    public record Pair(String key, String value) {
    }

    /**
     * Parses a data segment; throws {@link IllegalArgumentException} on a pair without '=', an empty or overlong
     * key or value. A trailing pair without NUL is accepted (some initiators leave it out before a continuation).
     */
    public static TextKeys parse(byte[] data, int length) {
        TextKeys t = new TextKeys();
        int start = 0;
        for (int i = 0; i <= length; i++) {
            if (i == length || data[i] == 0) {
                if (i > start) {
                    String pair = new String(data, start, i - start, StandardCharsets.UTF_8);
                    int eq = pair.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("text pair without key=value: \"" + pair + "\"");
                    }
                    if (eq > MAX_KEY || pair.length() - eq - 1 > MAX_VALUE) {
                        throw new IllegalArgumentException("text key or value too long: " + pair.substring(0, Math.min(eq, 64)));
                    }
                    t.add(pair.substring(0, eq), pair.substring(eq + 1));
                }
                start = i + 1;
            }
        }
        return t;
    }

    public TextKeys add(String key, String value) {
        keys.add(key);
        values.add(value);
        return this;
    }

    public int size() {
        return keys.size();
    }

    public String key(int i) {
        return keys.get(i);
    }

    public String value(int i) {
        return values.get(i);
    }

    /** The value of the first pair named {@code key}, or null. */
    public String get(String key) {
        int i = keys.indexOf(key);
        return i < 0 ? null : values.get(i);
    }

    public boolean contains(String key) {
        return keys.contains(key);
    }

    public List<Pair> pairs() {
        List<Pair> out = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            out.add(new Pair(keys.get(i), values.get(i)));
        }
        return out;
    }

    /** The pairs as a data segment: key=value NUL, in order. */
    public byte[] encode() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < keys.size(); i++) {
            sb.append(keys.get(i)).append('=').append(values.get(i)).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < keys.size(); i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(keys.get(i)).append('=').append(keys.get(i).startsWith("CHAP_") ? "..." : values.get(i));
        }
        return sb.toString();
    }
}
