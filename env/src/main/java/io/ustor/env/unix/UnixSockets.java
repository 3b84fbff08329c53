package io.ustor.env.unix;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.env.internal.SocketCalls;

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

    private static final MethodHandle SOCKETPAIR = Libc.capturingErrno("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));

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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = address(arena, path);
            int fd = socket(nonBlocking);
            SocketCalls.bindAndListen(fd, sa, (int) sa.byteSize(), backlog, "AF_UNIX " + path);
            return fd;
        }
    }

    /** A blocking connection to the socket at {@code path}. */
    public static int connect(Path path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = address(arena, path);
            int fd = socket(false);
            SocketCalls.connect(fd, sa, (int) sa.byteSize(), "AF_UNIX " + path);
            return fd;
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
        return SocketCalls.accept4Raw(listenFd, SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0));
    }

    /** shutdown(2): 0 or -errno. Wakes a thread blocked reading the socket (it reads end of stream). */
    public static int shutdownRaw(int fd, int how) {
        return SocketCalls.shutdownRaw(fd, how);
    }

    /** Sets or clears O_NONBLOCK. */
    public static void setBlocking(int fd, boolean blocking) {
        SocketCalls.setBlocking(fd, blocking);
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
        return SocketCalls.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0),
                "socket(AF_UNIX, SOCK_STREAM)");
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
        return SocketCalls.rethrow(t, what);
    }
}
