package io.ustor.daemon.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * ustord's logging: System.Logger goes to java.util.logging, one line per record on stderr, tagged with the
 * component (the module: io.ustor.bdev.malloc.MallocBdev -> bdev). INFO and above by default; -L COMPONENT turns
 * on DEBUG (FINE) for one component, -L all for every one.
 */
public final class LogSetup {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    private LogSetup() {
    }

    public static void configure(List<String> debugComponents) {
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        ConsoleHandler h = new ConsoleHandler(); // stderr
        h.setLevel(Level.ALL);
        h.setFormatter(new LineFormatter());
        root.addHandler(h);
        root.setLevel(Level.INFO);
        for (String c : debugComponents) {
            componentLogger(c).setLevel(Level.FINE);
        }
    }

    /** Loggers whose level was set: java.util.logging holds loggers weakly, a collected one would forget it. */
    private static final Map<String, Logger> KEEP = new ConcurrentHashMap<>();

    /** The logger of a component ("bdev" is io.ustor.bdev, "all" is io.ustor), kept so its level sticks. */
    public static Logger componentLogger(String component) {
        return KEEP.computeIfAbsent(component, c -> Logger.getLogger(c.equals("all") ? "io.ustor" : "io.ustor." + c));
    }

    /** "2026-01-01 12:00:00.000 INFO  bdev: bdev Malloc0: registered ..." */
    static final class LineFormatter extends Formatter {
        @Override
        public String format(LogRecord r) {
            StringBuilder sb = new StringBuilder(160);
            sb.append(LocalDateTime.now().format(TIME)).append(' ');
            String level = switch (r.getLevel().intValue()) {
                case 1000 -> "ERROR";
                case 900 -> "WARN ";
                case 800 -> "INFO ";
                default -> r.getLevel().intValue() >= 500 ? "DEBUG" : "TRACE";
            };
            sb.append(level).append(' ').append(component(r.getLoggerName())).append(": ").append(formatMessage(r));
            if (r.getThrown() != null) {
                StringWriter sw = new StringWriter();
                r.getThrown().printStackTrace(new PrintWriter(sw));
                sb.append('\n').append(sw);
            }
            return sb.append('\n').toString();
        }

        static String component(String logger) {
            if (logger == null) {
                return "-";
            }
            if (logger.startsWith("io.ustor.")) {
                int end = logger.indexOf('.', 9);
                return end < 0 ? logger.substring(9) : logger.substring(9, end);
            }
            return logger;
        }
    }
}
