package io.ustor.testbed.internal;

import java.util.List;

/** Small text helpers for logs and shell commands. */
public final class Text {
    private Text() {
    }

    /** The last {@code lines} lines of {@code text}. */
    public static String tail(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /** {@code word} quoted for bash (single quotes), so it reaches the command as one argument, unchanged. */
    public static String shellQuote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }
}
