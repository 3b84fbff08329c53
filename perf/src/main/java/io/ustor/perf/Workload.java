package io.ustor.perf;

import java.util.Locale;

/** bdevperf's {@code -w} I/O patterns, named as SPDK names them. */
public enum Workload {
    READ(false, 100), WRITE(false, 0), RANDREAD(true, 100), RANDWRITE(true, 0),
    RW(false, -1), RANDRW(true, -1), VERIFY(false, 0), UNMAP(false, 0), FLUSH(false, 0), WRITE_ZEROES(false, 0);

    private final boolean random;
    private final int fixedReadPercentage;

    Workload(boolean random, int fixedReadPercentage) {
        this.random = random;
        this.fixedReadPercentage = fixedReadPercentage;
    }

    /** True when offsets are drawn at random; false for sequential patterns. */
    public boolean random() {
        return random;
    }

    /** True for rw/randrw, the only patterns that take {@code -M}. */
    public boolean mixed() {
        return fixedReadPercentage < 0;
    }

    /** Read percentage implied by the pattern (-1 for the mixed ones, which need {@code -M}). */
    public int fixedReadPercentage() {
        return fixedReadPercentage;
    }

    /** The SPDK spelling: "randread", "write_zeroes". */
    public String spdkName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses an SPDK pattern name; null when it is not one. */
    public static Workload parse(String s) {
        for (Workload w : values()) {
            if (w.spdkName().equals(s)) {
                return w;
            }
        }
        return null;
    }

    /** "(read, write, ...)" for usage and error text. */
    public static String choices() {
        StringBuilder sb = new StringBuilder("(");
        for (Workload w : values()) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(w.spdkName());
        }
        return sb.append(')').toString();
    }
}
