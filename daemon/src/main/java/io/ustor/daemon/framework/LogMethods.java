package io.ustor.daemon.framework;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.cli.LogSetup;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * SPDK's logging methods over ustor's java.util.logging: a flag is a component (the package under io.ustor, as
 * {@code -L} takes it) whose DEBUG records are logged; the log level is what every component logs, the print level
 * what reaches stderr. SPDK's NOTICE is INFO here (java.util.logging has nothing between INFO and WARNING).
 */
final class LogMethods {
    static final List<String> FLAGS = List.of("env", "reactor", "bdev", "nvme", "rpc", "iscsi", "scsi", "vhost",
            "daemon", "perf");
    private static final Map<String, Level> LEVELS = Map.of("ERROR", Level.SEVERE, "WARNING", Level.WARNING,
            "NOTICE", Level.INFO, "INFO", Level.INFO, "DEBUG", Level.FINE);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Null until set: every record logged is printed (ustord's stderr handler takes all levels). */
    private static volatile Level printLevel;

    private LogMethods() {
    }

    static void register(RpcRegistry r) {
        r.register("log_set_flag", p -> setFlag(p, true), true);
        r.register("log_clear_flag", p -> setFlag(p, false), true);
        r.register("log_get_flags", p -> {
            p.requireNone("log_get_flags");
            ObjectNode out = MAPPER.createObjectNode();
            Level all = LogSetup.componentLogger("all").getLevel(); // ustord -L all
            for (String f : FLAGS) {
                Level own = LogSetup.componentLogger(f).getLevel();
                Level l = own != null ? own : all;
                out.put(f, l != null && l.intValue() <= Level.FINE.intValue());
            }
            return out;
        }, true);
        r.register("log_set_level", p -> {
            Logger.getLogger("").setLevel(level(p));
            return Boolean.TRUE;
        }, true);
        r.register("log_get_level", p -> {
            p.requireNone("log_get_level");
            return name(Logger.getLogger("").getLevel());
        }, true);
        r.register("log_set_print_level", p -> {
            Level l = level(p);
            printLevel = l;
            for (Handler h : Logger.getLogger("").getHandlers()) {
                h.setLevel(l);
            }
            return Boolean.TRUE;
        }, true);
        r.register("log_get_print_level", p -> {
            p.requireNone("log_get_print_level");
            return name(printLevel != null ? printLevel : Logger.getLogger("").getLevel());
        }, true);
    }

    private static Object setFlag(RpcParams p, boolean on) throws RpcException {
        p.allowOnly(Set.of("flag"));
        String flag = p.requiredString("flag");
        if (!flag.equals("all") && !FLAGS.contains(flag)) {
            throw RpcException.invalidParams("unknown flag " + flag + ": one of " + String.join(", ", FLAGS)
                    + " or all");
        }
        for (String f : flag.equals("all") ? FLAGS : List.of(flag)) {
            LogSetup.componentLogger(f).setLevel(on ? Level.FINE : null); // cleared: the parent's level
        }
        return Boolean.TRUE;
    }

    private static Level level(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("level"));
        String name = p.requiredString("level");
        Level l = LEVELS.get(name.toUpperCase(java.util.Locale.ROOT));
        if (l == null) {
            throw RpcException.invalidParams("level must be ERROR, WARNING, NOTICE, INFO or DEBUG, not " + name);
        }
        return l;
    }

    private static String name(Level l) {
        if (l == null) {
            return "INFO"; // the root logger's default
        }
        int v = l.intValue();
        return v <= Level.FINE.intValue() ? "DEBUG" : v >= Level.SEVERE.intValue() ? "ERROR"
                : v >= Level.WARNING.intValue() ? "WARNING" : "INFO";
    }
}
