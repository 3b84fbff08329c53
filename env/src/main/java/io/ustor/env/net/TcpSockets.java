package io.ustor.env.net;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.env.internal.SocketCalls;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.InetSocketAddress;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * TCP sockets through FFM: listen, accept4, connect, options, recv/send and vectored I/O, addresses.
 *
 * <p>As in {@link Posix}: the plain forms throw {@link NativeException} naming the call (control plane); the
 * {@code Raw} forms return the result or {@code -errno}, allocate nothing and are for reactor threads. Buffers are
 * native segments; {@code offset}/{@code length} select the bytes, bounds-checked without slicing. Sends use
 * MSG_NOSIGNAL, so a peer that went away yields -EPIPE instead of a signal.
 */
public final class TcpSockets {
    public static final int SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_KEEPALIVE = 9, SO_SNDBUF = 7, SO_RCVBUF = 8,
            SO_ERROR = 4;
    public static final int IPPROTO_TCP = 6, TCP_NODELAY = 1, TCP_CORK = 3, IPPROTO_IPV6 = 41, IPV6_V6ONLY = 26;
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    static final int SOCK_STREAM = 1, SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
    static final int MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000;

    private static final MethodHandle SETSOCKOPT = Libc.capturingErrno("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = Libc.capturingErrno("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETSOCKNAME = Libc.capturingErrno("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPEERNAME = Libc.capturingErrno("getpeername",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    // Buffer pointers are passed as integers (address + offset): no slice per call.
    private static final MethodHandle RECV = Libc.capturingErrno("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SEND = Libc.capturingErrno("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SENDMSG = Libc.capturingErrno("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle READV = Libc.capturingErrno("readv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));

    private TcpSockets() {
    }

    /**
     * A non-blocking, close-on-exec listening socket bound to {@code address} (port 0 = any free port) with
     * SO_REUSEADDR; IPv6 sockets accept IPv6 only. Find the port actually bound with {@link #localAddress}.
     */
    public static int listen(InetSocketAddress address, int backlog) {
        boolean v6 = address.getAddress() instanceof java.net.Inet6Address;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SocketAddresses.STORAGE_SIZE, 8);
            int len = SocketAddresses.write(address, sa);
            int fd = socket(v6 ? SocketAddresses.AF_INET6 : SocketAddresses.AF_INET);
            try {
                setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
                if (v6) {
                    setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
                }
            } catch (RuntimeException e) {
                Posix.closeRaw(fd);
                throw e;
            }
            SocketCalls.bindAndListen(fd, sa, len, backlog, address.toString());
            return fd;
        }
    }

    /** A blocking TCP connection to {@code address} (tests and tools; a reactor connects non-blocking instead). */
    public static int connect(InetSocketAddress address) {
        boolean v6 = address.getAddress() instanceof java.net.Inet6Address;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SocketAddresses.STORAGE_SIZE, 8);
            int len = SocketAddresses.write(address, sa);
            int fd = socket(v6 ? SocketAddresses.AF_INET6 : SocketAddresses.AF_INET);
            try {
                setBlocking(fd, true);
            } catch (RuntimeException e) {
                Posix.closeRaw(fd);
                throw e;
            }
            SocketCalls.connect(fd, sa, len, address.toString());
            return fd;
        }
    }

    /**
     * accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC: the new descriptor, or -EAGAIN when no connection is pending, or
     * another -errno. Allocation-free.
     */
    public static int acceptRaw(int listenFd) {
        return SocketCalls.accept4Raw(listenFd, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }

    /** recv into {@code buf[offset, offset+length)}: bytes received, 0 when the peer closed, or -errno (-EAGAIN). */
    public static long recvRaw(int fd, MemorySegment buf, long offset, long length) {
        checkBounds(buf, offset, length);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) RECV.invokeExact(capture, fd, buf.address() + offset, length, MSG_DONTWAIT);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("recv", t);
        }
    }

    /** send of {@code buf[offset, offset+length)}: bytes sent (possibly fewer), or -errno (-EAGAIN, -EPIPE). */
    public static long sendRaw(int fd, MemorySegment buf, long offset, long length) {
        checkBounds(buf, offset, length);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) SEND.invokeExact(capture, fd, buf.address() + offset, length, MSG_NOSIGNAL | MSG_DONTWAIT);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("send", t);
        }
    }

    /** Gathering send (sendmsg, the writev of sockets) of the entries of {@code iov}: bytes sent, or -errno. */
    public static long sendvRaw(int fd, IoVecArray iov) {
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) SENDMSG.invokeExact(capture, fd, iov.msghdr(), MSG_NOSIGNAL | MSG_DONTWAIT);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("sendmsg", t);
        }
    }

    /** Scattering receive (readv) into the entries of {@code iov}: bytes, 0 at end of stream, or -errno. */
    public static long recvvRaw(int fd, IoVecArray iov) {
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) READV.invokeExact(capture, fd, iov.iovecs(), iov.count());
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("readv", t);
        }
    }

    /** TCP_NODELAY on or off: with it on, small responses leave at once instead of waiting for an ACK. */
    public static void setNoDelay(int fd, boolean on) {
        setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
    }

    public static void setReuseAddress(int fd, boolean on) {
        setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0);
    }

    /** setsockopt with an int value. */
    public static void setIntOption(int fd, int level, int name, int value) {
        int rc = setIntOptionRaw(fd, level, name, value);
        if (rc < 0) {
            throw new NativeException("setsockopt(fd " + fd + ", level " + level + ", option " + name + ", " + value + ")", -rc);
        }
    }

    /** setsockopt with an int value: 0 or -errno (uses a thread-local scratch int; allocation-free). */
    public static int setIntOptionRaw(int fd, int level, int name, int value) {
        MemorySegment v = Scratch.INT.get();
        v.set(JAVA_INT, 0, value);
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) SETSOCKOPT.invokeExact(capture, fd, level, name, v, 4);
            return rc < 0 ? -Errno.get(capture) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("setsockopt", t);
        }
    }

    /** getsockopt of an int option. */
    public static int getIntOption(int fd, int level, int name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            MemorySegment len = arena.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 4);
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) GETSOCKOPT.invokeExact(capture, fd, level, name, v, len);
            if (rc < 0) {
                throw new NativeException("getsockopt(fd " + fd + ", level " + level + ", option " + name + ")", Errno.get(capture));
            }
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t, "getsockopt");
        }
    }

    /** Sets or clears O_NONBLOCK. */
    public static void setBlocking(int fd, boolean blocking) {
        SocketCalls.setBlocking(fd, blocking);
    }

    /** The local address of a socket (getsockname): the portal a connection arrived on. */
    public static InetSocketAddress localAddress(int fd) {
        return name(GETSOCKNAME, "getsockname", fd);
    }

    /** The remote address of a connected socket (getpeername). */
    public static InetSocketAddress peerAddress(int fd) {
        return name(GETPEERNAME, "getpeername", fd);
    }

    /** shutdown(2): 0 or -errno. */
    public static int shutdownRaw(int fd, int how) {
        return SocketCalls.shutdownRaw(fd, how);
    }

    /** close(2): 0 or -errno. */
    public static int closeRaw(int fd) {
        return Posix.closeRaw(fd);
    }

    private static InetSocketAddress name(MethodHandle call, String what, int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SocketAddresses.STORAGE_SIZE, 8);
            MemorySegment len = arena.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, SocketAddresses.STORAGE_SIZE);
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) call.invokeExact(capture, fd, sa, len);
            if (rc < 0) {
                throw new NativeException(what + "(fd " + fd + ")", Errno.get(capture));
            }
            return SocketAddresses.read(sa);
        } catch (Throwable t) {
            throw rethrow(t, what);
        }
    }

    private static int socket(int family) {
        return SocketCalls.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                "socket(" + (family == SocketAddresses.AF_INET ? "AF_INET" : "AF_INET6") + ", SOCK_STREAM)");
    }

    private static void checkBounds(MemorySegment buf, long offset, long length) {
        if (!buf.isNative()) {
            throw new IllegalArgumentException("socket I/O needs a native segment");
        }
        if (offset < 0 || length < 0 || offset + length > buf.byteSize()) {
            throw new IndexOutOfBoundsException("bytes " + offset + "+" + length + " outside buffer of " + buf.byteSize());
        }
    }

    private static RuntimeException rethrow(Throwable t, String what) {
        return SocketCalls.rethrow(t, what);
    }

    /** Per-thread scratch for option values. */
    private static final class Scratch {
        static final ThreadLocal<MemorySegment> INT = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(JAVA_INT));
    }
}
