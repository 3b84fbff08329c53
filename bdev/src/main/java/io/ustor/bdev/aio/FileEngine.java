package io.ustor.bdev.aio;

import io.ustor.env.Errno;
import io.ustor.env.NativeException;
import io.ustor.env.aio.LinuxAio;
import io.ustor.env.uring.FileIoQueue;
import io.ustor.env.uring.IoUring;

import java.util.Locale;

/**
 * How an {@link AioBdev} talks to the kernel. {@link #AUTO} takes io_uring and falls back to Linux AIO where
 * io_uring is missing (ENOSYS) or disabled (EPERM, kernel.io_uring_disabled). The default comes from the system
 * property {@value #PROPERTY} ({@code auto}, {@code uring} or {@code aio}).
 */
public enum FileEngine {
    AUTO, IO_URING, LINUX_AIO;

    /** System property that picks the default engine. */
    public static final String PROPERTY = "ustor.file.engine";

    private static final System.Logger LOG = System.getLogger(FileEngine.class.getName());

    /** The engine named by {@value #PROPERTY}, {@link #AUTO} when unset. */
    public static FileEngine fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, "auto"));
    }

    /** "auto", "uring"/"io_uring", "aio"/"linux-aio" (any case). */
    public static FileEngine parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "auto", "" -> AUTO;
            case "uring", "io_uring", "io-uring" -> IO_URING;
            case "aio", "linux-aio", "libaio" -> LINUX_AIO;
            default -> throw new IllegalArgumentException(PROPERTY + " must be auto, uring or aio, not '" + s + "'");
        };
    }

    /**
     * The engine AUTO stands for on this machine: tries an io_uring (and closes it at once); {@code who} names the
     * bdev in the fallback log line.
     */
    FileEngine resolve(String who) {
        if (this != AUTO) {
            return this;
        }
        try {
            IoUring.open(1, 1).close();
            return IO_URING;
        } catch (NativeException e) {
            if (e.errno() == Errno.ENOSYS || e.errno() == Errno.EPERM) {
                LOG.log(System.Logger.Level.WARNING, "{0}: io_uring unavailable ({1}); using Linux AIO", who, e.getMessage());
                return LINUX_AIO;
            }
            throw e;
        }
    }

    /** A queue of this (resolved) engine, on the thread that will own it. */
    FileIoQueue open(int depth, int maxIovs) {
        return switch (this) {
            case IO_URING -> IoUring.open(depth, maxIovs);
            case LINUX_AIO -> LinuxAio.open(depth, maxIovs);
            case AUTO -> throw new IllegalStateException("resolve() the engine first");
        };
    }
}
