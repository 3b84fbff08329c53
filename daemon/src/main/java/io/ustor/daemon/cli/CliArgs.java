package io.ustor.daemon.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The arguments of one CLI method in rpc.py's (argparse's) form: positionals in order (the last may be optional),
 * options with a short and/or long name anywhere among them, {@code --long=value} too.
 */
final class CliArgs {
    /** FLAG: present or not; SWITCH: argparse's BooleanOptionalAction, {@code --x} true and {@code --no-x} false. */
    enum Type { STRING, INT, FLOAT, FLAG, SWITCH, CSV }

    record Arg(String shortName, String longName, String dest, Type type, boolean required, boolean positional,
               String help) {
        String display() {
            if (positional) {
                return required ? dest : "[" + dest + "]";
            }
            String n = shortName != null ? shortName + (longName != null ? ", " + longName : "") : longName;
            if (type == Type.SWITCH) {
                return longName + " | --no-" + longName.substring(2);
            }
            return type == Type.FLAG ? n : n + " " + dest.toUpperCase();
        }
    }

    final List<Arg> args = new ArrayList<>();

    CliArgs positional(String dest, Type type, String help) {
        args.add(new Arg(null, null, dest, type, true, true, help));
        return this;
    }

    CliArgs optionalPositional(String dest, Type type, String help) {
        args.add(new Arg(null, null, dest, type, false, true, help));
        return this;
    }

    CliArgs option(String shortName, String longName, String dest, Type type, String help) {
        args.add(new Arg(shortName, longName, dest, type, false, false, help));
        return this;
    }

    CliArgs requiredOption(String shortName, String longName, String dest, Type type, String help) {
        args.add(new Arg(shortName, longName, dest, type, true, false, help));
        return this;
    }

    /** dest -> value (String, Long, Double, Boolean, List of String); absent options are absent. */
    Map<String, Object> parse(String method, List<String> argv) throws UsageException {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Arg> positionals = args.stream().filter(Arg::positional).toList();
        int pos = 0;
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.startsWith("-") && a.length() > 1 && !isNumber(a)) {
                String name = a;
                String inline = null;
                if (a.startsWith("--") && a.contains("=")) {
                    name = a.substring(0, a.indexOf('='));
                    inline = a.substring(a.indexOf('=') + 1);
                }
                Arg opt = find(name);
                if (opt == null) {
                    throw new UsageException(method + ": unknown option " + name);
                }
                if (opt.type == Type.FLAG || opt.type == Type.SWITCH) {
                    if (inline != null) {
                        throw new UsageException(method + ": option " + name + " takes no value");
                    }
                    out.put(opt.dest, opt.type == Type.FLAG || name.equals(opt.longName)); // a switch's --no- form: false
                    continue;
                }
                String v = inline;
                if (v == null) {
                    if (i + 1 >= argv.size()) {
                        throw new UsageException(method + ": option " + name + " needs a value");
                    }
                    v = argv.get(++i);
                }
                out.put(opt.dest, convert(method, name, opt.type, v));
            } else {
                if (pos >= positionals.size()) {
                    throw new UsageException(method + ": unexpected argument '" + a + "'");
                }
                Arg p = positionals.get(pos++);
                out.put(p.dest, convert(method, p.dest, p.type, a));
            }
        }
        for (Arg a : args) {
            if (a.required && !out.containsKey(a.dest)) {
                throw new UsageException(method + ": missing " + (a.positional ? "argument " + a.dest
                        : "option " + a.display()));
            }
        }
        return out;
    }

    private Arg find(String name) {
        for (Arg a : args) {
            if (!a.positional && (name.equals(a.shortName) || name.equals(a.longName))) {
                return a;
            }
            if (a.type == Type.SWITCH && name.equals("--no-" + a.longName.substring(2))) {
                return a;
            }
        }
        return null;
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Object convert(String method, String name, Type type, String v) throws UsageException {
        try {
            return switch (type) {
                case STRING -> v;
                case INT -> Long.decode(v);
                case FLOAT -> Double.parseDouble(v);
                case CSV -> List.of(v.split(","));
                case FLAG, SWITCH -> Boolean.TRUE;
            };
        } catch (NumberFormatException e) {
            throw new UsageException(method + ": invalid " + (type == Type.INT ? "integer" : "number") + " for "
                    + name + ": '" + v + "'");
        }
    }

    String usage(String method) {
        StringBuilder sb = new StringBuilder("usage: ustor-rpc [-s SOCKET] " + method);
        for (Arg a : args) {
            sb.append(' ').append(a.positional ? a.display() : (a.required ? a.display() : "[" + a.display() + "]"));
        }
        return sb.toString();
    }

    String help() {
        StringBuilder sb = new StringBuilder();
        for (Arg a : args) {
            sb.append(String.format("  %-34s %s%n", a.display(), a.help));
        }
        return sb.toString();
    }
}
