package io.ustor.env.internal;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The socket calls every address family shares (socket, bind+listen, connect, accept4, shutdown, O_NONBLOCK), so
 * TCP ({@code io.ustor.env.net}) and AF_UNIX ({@code io.ustor.env.unix}) keep one downcall handle each. Callers build
 * the family's sockaddr and name the socket in {@code what} for error messages.
 */
public final class SocketCalls {
    public static final int SOCK_STREAM = 1, SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
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
    private static final MethodHandle FCNTL = Libc.capturingErrnoVariadic("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), 2);

    private SocketCalls() {
    }

    /** socket(2); {@code what} names it in the error, e.g. "socket(AF_UNIX, SOCK_STREAM)". */
    public static int socket(int domain, int type, String what) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int fd = (int) SOCKET.invokeExact(capture, domain, type, 0);
            if (fd < 0) {
                throw new NativeException(what, Errno.get(capture));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t, "socket");
        }
    }

    /** bind(2) to {@code sa[0, len)} then listen(2); closes {@code fd} when either fails. */
    public static void bindAndListen(int fd, MemorySegment sa, int len, int backlog, String what) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) BIND.invokeExact(capture, fd, sa, len);
            if (rc < 0) {
                throw new NativeException("bind(" + what + ")", Errno.get(capture));
            }
            rc = (int) LISTEN.invokeExact(capture, fd, backlog);
            if (rc < 0) {
                throw new NativeException("listen(" + what + ", " + backlog + ")", Errno.get(capture));
            }
        } catch (Throwable t) {
            Posix.closeRaw(fd);
            throw rethrow(t, "listen " + what);
        }
    }

    /** connect(2) to {@code sa[0, len)}; closes {@code fd} when it fails. */
    public static void connect(int fd, MemorySegment sa, int len, String what) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) CONNECT.invokeExact(capture, fd, sa, len);
            if (rc < 0) {
                throw new NativeException("connect(" + what + ")", Errno.get(capture));
            }
        } catch (Throwable t) {
            Posix.closeRaw(fd);
            throw rethrow(t, "connect " + what);
        }
    }

    /** accept4(2) with {@code flags}: the new descriptor, or -errno (-EAGAIN when none is pending). Allocation-free. */
    public static int accept4Raw(int listenFd, int flags) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int fd = (int) ACCEPT4.invokeExact(capture, listenFd, 0L, 0L, flags);
            return fd < 0 ? -Errno.get(capture) : fd;
        } catch (Throwable t) {
            throw new IllegalStateException("accept4", t);
        }
    }

    /** shutdown(2): 0 or -errno. */
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
                throw new NativeException("fcntl(fd " + fd + ", " + (cmd == F_GETFL ? "F_GETFL" : "F_SETFL") + ")", Errno.get(capture));
            }
            return rc;
        } catch (Throwable t) {
            throw rethrow(t, "fcntl");
        }
    }

    /** A RuntimeException as it is, an Error rethrown, anything else wrapped naming {@code what}. */
    public static RuntimeException rethrow(Throwable t, String what) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(what, t);
    }
}
