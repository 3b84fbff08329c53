package io.ustor.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** ustor's version, from the build (e.g. "0.1.0-SNAPSHOT"), split the way SPDK reports its own. */
public record UstorVersion(String version, int major, int minor, int patch, String suffix) {
    private static final UstorVersion CURRENT = load();

    public static UstorVersion current() {
        return CURRENT;
    }

    /** Parses "MAJOR.MINOR[.PATCH][SUFFIX]", e.g. "0.1.0-SNAPSHOT" -> 0, 1, 0, "-SNAPSHOT". */
    static UstorVersion parse(String v) {
        int[] nums = new int[3];
        int i = 0;
        int part = 0;
        while (part < 3 && i < v.length() && Character.isDigit(v.charAt(i))) {
            int start = i;
            while (i < v.length() && Character.isDigit(v.charAt(i))) {
                i++;
            }
            nums[part++] = Integer.parseInt(v.substring(start, i));
            if (i < v.length() && v.charAt(i) == '.' && i + 1 < v.length() && Character.isDigit(v.charAt(i + 1))) {
                i++;
            } else {
                break;
            }
        }
        return new UstorVersion(v, nums[0], nums[1], nums[2], v.substring(i));
    }

    private static UstorVersion load() {
        Properties p = new Properties();
        try (InputStream in = UstorVersion.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException ignored) {
            // fall through to "unknown"
        }
        String v = p.getProperty("version", "0.0.0-unknown");
        return parse(v.contains("${") ? "0.0.0-unknown" : v);
    }

    /** What spdk_get_version's "version" says: the product is named, so nobody mistakes this for SPDK. */
    public String banner() {
        return "ustor v" + version;
    }
}
