package io.ustor.env.unix;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * AF_UNIX stream sockets: listen on a path, accept, connect, shutdown. All descriptors are close-on-exec.
 * The plain forms throw {@link NativeException} naming the call and path; {@code Raw} forms return -errno.
 */
public final class UnixSockets {
    static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    /** sizeof(struct sockaddr_un) and of its sun_path. */
    static final int SOCKADDR_UN_SIZE = 110, SUN_PATH_MAX = 108;
    private static final int F_GETFL = 3, F_SETFL = 4;

    private static final MethodHandle SOCKET = Libc.capturingErrno("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = Libc.capturingErrno("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = Libc.capturingErrno("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = Libc.capturingErrno("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle CONNECT = Libc.capturingErrno("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SHUTDOWN = Libc.capturingErrno("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKETPAIR = Libc.capturingErrno("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle FCNTL = Libc.capturingErrnoVariadic("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), 2);

    private UnixSockets() {
    }

    /**
     * A listening socket bound to {@code path}. An existing socket file at the path is removed first (a stale one
     * from a previous run, as SPDK's vhost does); any other kind of file there makes bind fail with EADDRINUSE.
     *
     * @param nonBlocking accept returns -EAGAIN instead of waiting
     */
    public static int listen(Path path, int backlog, boolean nonBlocking) {
        if (java.nio.file.Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS) && isSocketFile(path)) {
            Posix.unlink(path.toString());
        }
        int fd = socket(nonBlocking);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = address(arena, path);
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) BIND.invokeExact(capture, fd, sa, (int) sa.byteSize());
            if (rc < 0) {
                throw new NativeException("bind(AF_UNIX " + path + ")", Errno.get(capture));
            }
            rc = (int) LISTEN.invokeExact(capture, fd, backlog);
            if (rc < 0) {
                throw new NativeException("listen(AF_UNIX " + path + ", " + backlog + ")", Errno.get(capture));
            }
            return fd;
        } catch (Throwable t) {
            Posix.closeRaw(fd);
            throw rethrow(t, "listen " + path);
        }
    }

    /** A blocking connection to the socket at {@code path}. */
    public static int connect(Path path) {
        int fd = socket(false);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = address(arena, path);
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) CONNECT.invokeExact(capture, fd, sa, (int) sa.byteSize());
            if (rc < 0) {
                throw new NativeException("connect(AF_UNIX " + path + ")", Errno.get(capture));
            }
            return fd;
        } catch (Throwable t) {
            Posix.closeRaw(fd);
            throw rethrow(t, "connect " + path);
        }
    }

    /** A connected pair of blocking stream sockets (socketpair(2)); element 0 and 1 are the two ends. */
    public static int[] pair() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) SOCKETPAIR.invokeExact(capture, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
            if (rc < 0) {
                throw new NativeException("socketpair(AF_UNIX, SOCK_STREAM)", Errno.get(capture));
            }
            return new int[]{fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        } catch (Throwable t) {
            throw rethrow(t, "socketpair");
        }
    }

    /**
     * accept4 with SOCK_CLOEXEC (and SOCK_NONBLOCK when {@code nonBlocking}): the new descriptor, -EAGAIN when none is
     * pending on a non-blocking listener, or another -errno. Allocation-free.
     */
    public static int acceptRaw(int listenFd, boolean nonBlocking) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int fd = (int) ACCEPT4.invokeExact(capture, listenFd, 0L, 0L, SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0));
            return fd < 0 ? -Errno.get(capture) : fd;
        } catch (Throwable t) {
            throw new IllegalStateException("accept4", t);
        }
    }

    /** shutdown(2): 0 or -errno. Wakes a thread blocked reading the socket (it reads end of stream). */
    public static int shutdownRaw(int fd, int how) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) SHUTDOWN.invokeExact(capture, fd, how);
            return rc < 0 ? -Errno.get(capture) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("shutdown", t);
        }
    }

    /** Sets or clears O_NONBLOCK. */
    public static void setBlocking(int fd, boolean blocking) {
        int flags = fcntl(fd, F_GETFL, 0);
        fcntl(fd, F_SETFL, blocking ? flags & ~Posix.O_NONBLOCK : flags | Posix.O_NONBLOCK);
    }

    private static int fcntl(int fd, int cmd, int arg) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) FCNTL.invokeExact(capture, fd, cmd, arg);
            if (rc < 0) {
                throw new NativeException("fcntl(fd " + fd + ", " + cmd + ")", Errno.get(capture));
            }
            return rc;
        } catch (Throwable t) {
            throw rethrow(t, "fcntl");
        }
    }

    private static boolean isSocketFile(Path path) {
        try {
            Object mode = java.nio.file.Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return mode instanceof Integer m && (m & 0170000) == 0140000;
        } catch (Exception e) {
            return false;
        }
    }

    private static int socket(boolean nonBlocking) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int fd = (int) SOCKET.invokeExact(capture, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0);
            if (fd < 0) {
                throw new NativeException("socket(AF_UNIX, SOCK_STREAM)", Errno.get(capture));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t, "socket");
        }
    }

    /** A struct sockaddr_un for {@code path}, sized to the path (family + bytes + NUL). */
    static MemorySegment address(Arena arena, Path path) {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length >= SUN_PATH_MAX) {
            throw new IllegalArgumentException("unix socket path must have 1.." + (SUN_PATH_MAX - 1) + " bytes: " + path);
        }
        MemorySegment sa = arena.allocate(2 + bytes.length + 1, 8);
        sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, sa, JAVA_BYTE, 2, bytes.length);
        sa.set(JAVA_BYTE, 2 + bytes.length, (byte) 0);
        return sa;
    }

    static RuntimeException rethrow(Throwable t, String what) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(what, t);
    }
}
