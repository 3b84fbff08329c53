package io.ustor.reactor;

import java.util.Arrays;
import java.util.BitSet;

/**
 * The set of CPU cores to run reactors on, written the way SPDK's {@code -m} option takes it: a hexadecimal bit mask
 * ({@code "0x3"}, or {@code "3"} without the prefix) or a bracketed list of cores and ranges ({@code "[0,1]"},
 * {@code "[0-3]"}, {@code "[0,2-3]"}). Immutable.
 */
public final class CoreMask {
    /** Cores are numbered below this (glibc's cpu_set_t holds 1024). */
    public static final int MAX_CORES = 1024;

    private final int[] cores;

    private CoreMask(BitSet bits) {
        this.cores = bits.stream().toArray();
    }

    /** Parses a mask or list; throws IllegalArgumentException naming the input and what is wrong with it. */
    public static CoreMask parse(String s) {
        if (s == null) {
            throw new IllegalArgumentException("core mask is null");
        }
        String text = s.strip();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("core mask is empty; use a hex mask like 0x3 or a list like [0,1]");
        }
        BitSet bits = text.startsWith("[") ? parseList(s, text) : parseHex(s, text);
        if (bits.isEmpty()) {
            throw new IllegalArgumentException("core mask '" + s + "' selects no cores");
        }
        return new CoreMask(bits);
    }

    /** A mask of exactly these cores. */
    public static CoreMask of(int... cores) {
        if (cores.length == 0) {
            throw new IllegalArgumentException("core mask selects no cores");
        }
        BitSet bits = new BitSet();
        for (int core : cores) {
            checkCore(Arrays.toString(cores), core);
            bits.set(core);
        }
        return new CoreMask(bits);
    }

    private static BitSet parseHex(String original, String text) {
        String digits = text.startsWith("0x") || text.startsWith("0X") ? text.substring(2) : text;
        if (digits.isEmpty()) {
            throw new IllegalArgumentException("core mask '" + original + "' has no hex digits after 0x");
        }
        BitSet bits = new BitSet();
        int bit = 0;
        for (int i = digits.length() - 1; i >= 0; i--, bit += 4) {
            char c = digits.charAt(i);
            int nibble = Character.digit(c, 16);
            if (nibble < 0) {
                throw new IllegalArgumentException("core mask '" + original + "': '" + c
                        + "' is not a hex digit; use a hex mask like 0x3 or a list like [0,1] or [0-3]");
            }
            for (int b = 0; b < 4; b++) {
                if ((nibble & (1 << b)) != 0) {
                    checkCore(original, bit + b);
                    bits.set(bit + b);
                }
            }
        }
        return bits;
    }

    private static BitSet parseList(String original, String text) {
        if (!text.endsWith("]")) {
            throw new IllegalArgumentException("core list '" + original + "' is missing its closing ']'");
        }
        String body = text.substring(1, text.length() - 1);
        BitSet bits = new BitSet();
        if (body.isBlank()) {
            return bits;
        }
        for (String item : body.split(",", -1)) {
            String part = item.strip();
            if (part.isEmpty()) {
                throw new IllegalArgumentException("core list '" + original + "' has an empty entry");
            }
            int dash = part.indexOf('-');
            if (dash < 0) {
                bits.set(parseCore(original, part));
                continue;
            }
            int from = parseCore(original, part.substring(0, dash).strip());
            int to = parseCore(original, part.substring(dash + 1).strip());
            if (from > to) {
                throw new IllegalArgumentException("core list '" + original + "': range " + part + " runs backwards");
            }
            bits.set(from, to + 1);
        }
        return bits;
    }

    private static int parseCore(String original, String number) {
        if (number.isEmpty() || !number.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("core list '" + original + "': '" + number
                    + "' is not a core number; write entries like 0, 2-3");
        }
        int core;
        try {
            core = Integer.parseInt(number);
        } catch (NumberFormatException e) {
            core = Integer.MAX_VALUE;
        }
        checkCore(original, core);
        return core;
    }

    private static void checkCore(String original, int core) {
        if (core < 0 || core >= MAX_CORES) {
            throw new IllegalArgumentException("core mask '" + original + "': core " + core + " is outside 0.."
                    + (MAX_CORES - 1));
        }
    }

    /** The cores, ascending (a copy). */
    public int[] cores() {
        return cores.clone();
    }

    /** How many cores the mask selects. */
    public int count() {
        return cores.length;
    }

    /** True when the mask selects {@code core}. */
    public boolean contains(int core) {
        return Arrays.binarySearch(cores, core) >= 0;
    }

    /** The cores as a list with ranges, e.g. {@code [0-3,8]} (also accepted by {@link #parse}). */
    public String toListString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < cores.length; ) {
            int j = i;
            while (j + 1 < cores.length && cores[j + 1] == cores[j] + 1) {
                j++;
            }
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append(cores[i]);
            if (j > i) {
                sb.append('-').append(cores[j]);
            }
            i = j + 1;
        }
        return sb.append(']').toString();
    }

    /** The mask in SPDK's hex form, e.g. {@code 0x3}. */
    @Override
    public String toString() {
        int highest = cores[cores.length - 1];
        char[] digits = new char[highest / 4 + 1];
        Arrays.fill(digits, '0');
        int[] nibbles = new int[digits.length];
        for (int core : cores) {
            nibbles[core / 4] |= 1 << (core % 4);
        }
        for (int i = 0; i < nibbles.length; i++) {
            digits[digits.length - 1 - i] = Character.forDigit(nibbles[i], 16);
        }
        return "0x" + new String(digits);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CoreMask m && Arrays.equals(cores, m.cores);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(cores);
    }
}
