package io.ustor.env.net;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * An epoll(7) instance owned by one thread (a reactor's network poller): register descriptors with a 64-bit
 * token, then {@link #waitRaw} (timeout 0 when polling) and read the ready entries with {@link #events}/{@link #token}.
 * Everything but {@link #create} and {@link #close} is allocation-free.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x1, EPOLLPRI = 0x2, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10,
            EPOLLRDHUP = 0x2000, EPOLLET = 1 << 31;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EPOLL_CLOEXEC = 02000000;
    /** struct epoll_event is packed on x86-64: u32 events, u64 data. */
    private static final long EVENT_SIZE = 12;

    private static final MethodHandle CREATE = Libc.capturingErrno("epoll_create1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle CTL = Libc.capturingErrno("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle WAIT = Libc.capturingErrno("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

    private final int fd;
    private final int capacity;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment ready;
    private final MemorySegment ctlEvent;
    private boolean closed;

    private Epoll(int fd, int capacity) {
        this.fd = fd;
        this.capacity = capacity;
        this.ready = arena.allocate(EVENT_SIZE * capacity, 8);
        this.ctlEvent = arena.allocate(16, 8);
    }

    /** A new epoll instance that returns at most {@code maxEvents} entries per wait. */
    public static Epoll create(int maxEvents) {
        if (maxEvents <= 0) {
            throw new IllegalArgumentException("maxEvents " + maxEvents);
        }
        try {
            MemorySegment capture = Errno.threadCapture();
            int fd = (int) CREATE.invokeExact(capture, EPOLL_CLOEXEC);
            if (fd < 0) {
                throw new NativeException("epoll_create1", Errno.get(capture));
            }
            return new Epoll(fd, maxEvents);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("epoll_create1", t);
        }
    }

    public int fd() {
        return fd;
    }

    /** Watches {@code target} for {@code events} (EPOLLIN...), reporting {@code token}: 0 or -errno. */
    public int addRaw(int target, int events, long token) {
        return ctl(EPOLL_CTL_ADD, target, events, token);
    }

    /** Changes the events / token of a watched descriptor: 0 or -errno. */
    public int modifyRaw(int target, int events, long token) {
        return ctl(EPOLL_CTL_MOD, target, events, token);
    }

    /** Stops watching {@code target}: 0 or -errno. */
    public int removeRaw(int target) {
        return ctl(EPOLL_CTL_DEL, target, 0, 0);
    }

    /** Like {@link #addRaw}, throwing. */
    public void add(int target, int events, long token) {
        int rc = addRaw(target, events, token);
        if (rc < 0) {
            throw new NativeException("epoll_ctl(ADD, fd " + target + ")", -rc);
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (0 = just look, -1 = forever) for ready descriptors: their count (read
     * them with {@link #events}/{@link #token}), or -errno (-EINTR).
     */
    public int waitRaw(int timeoutMillis) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int n = (int) WAIT.invokeExact(capture, fd, ready, capacity, timeoutMillis);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("epoll_wait", t);
        }
    }

    /** The events of ready entry {@code i} of the last wait. */
    public int events(int i) {
        return ready.get(JAVA_INT_UNALIGNED, i * EVENT_SIZE);
    }

    /** The token of ready entry {@code i} of the last wait. */
    public long token(int i) {
        return ready.get(JAVA_LONG_UNALIGNED, i * EVENT_SIZE + 4);
    }

    private int ctl(int op, int target, int events, long token) {
        ctlEvent.set(JAVA_INT_UNALIGNED, 0, events);
        ctlEvent.set(JAVA_LONG_UNALIGNED, 4, token);
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) CTL.invokeExact(capture, fd, op, target, ctlEvent);
            return rc < 0 ? -Errno.get(capture) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("epoll_ctl", t);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Posix.closeRaw(fd);
            arena.close();
        }
    }
}
