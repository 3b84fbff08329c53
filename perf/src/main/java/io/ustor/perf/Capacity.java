package io.ustor.perf;

/** Parses sizes the way SPDK's spdk_parse_capacity does: "4096", "4k", "128K", "1M", "1GiB". */
public final class Capacity {
    private Capacity() {
    }

    /** Bytes for {@code s}; throws NumberFormatException naming the text when it is not a size. */
    public static long parse(String s) {
        String t = s.trim();
        int i = 0;
        while (i < t.length() && Character.isDigit(t.charAt(i))) {
            i++;
        }
        if (i == 0) {
            throw new NumberFormatException("not a size: '" + s + "'");
        }
        long value = Long.parseLong(t.substring(0, i));
        String unit = t.substring(i);
        int shift = switch (unit) {
            case "", "b", "B" -> 0;
            case "k", "K", "kB", "KB", "KiB" -> 10;
            case "m", "M", "mB", "MB", "MiB" -> 20;
            case "g", "G", "gB", "GB", "GiB" -> 30;
            default -> throw new NumberFormatException("not a size: '" + s + "' (unit must be k, m or g)");
        };
        if (value > (Long.MAX_VALUE >> shift)) {
            throw new NumberFormatException("size too large: '" + s + "'");
        }
        return value << shift;
    }
}
