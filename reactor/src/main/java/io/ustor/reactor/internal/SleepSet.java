package io.ustor.reactor.internal;

import io.ustor.env.Errno;
import io.ustor.env.Libc;
import io.ustor.env.NativeException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The descriptors an idle reactor sleeps on with ppoll(2): its wakeup eventfd first, then the descriptors of its
 * interrupt pollers (sockets, eventfds, epoll sets), all for POLLIN. Owned by the reactor thread; {@link #await} is
 * allocation-free, {@link #SleepSet(int, int[])} allocates (build a new set when the pollers change).
 */
public final class SleepSet {
    private static final short POLLIN = 0x1, POLLNVAL = 0x20;
    private static final long POLLFD_SIZE = 8;
    private static final MethodHandle PPOLL = Libc.capturingErrno("ppoll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));

    private final MemorySegment pollFds, timespec;
    private final int count;

    /** A set of {@code wakeFd} followed by {@code fds}. */
    public SleepSet(int wakeFd, int[] fds) {
        count = fds.length + 1;
        Arena arena = Arena.ofAuto();
        pollFds = arena.allocate(POLLFD_SIZE * count, 8);
        timespec = arena.allocate(16, 8);
        set(0, wakeFd);
        for (int i = 0; i < fds.length; i++) {
            set(i + 1, fds[i]);
        }
    }

    private void set(int i, int fd) {
        pollFds.set(JAVA_INT, i * POLLFD_SIZE, fd);
        pollFds.set(JAVA_SHORT, i * POLLFD_SIZE + 4, POLLIN);
    }

    /** How many descriptors, the wakeup eventfd included. */
    public int size() {
        return count;
    }

    /**
     * Waits until a descriptor is readable or {@code timeoutNanos} pass. Returns a bit set: 1 when the wakeup
     * eventfd is readable, 2 when any other descriptor is ready, 4 when one of them is not open (POLLNVAL; see
     * {@link #invalid}). 0 on timeout or EINTR.
     */
    public int await(long timeoutNanos) {
        timespec.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
        timespec.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
        MemorySegment capture = Errno.threadCapture();
        int rc;
        try {
            rc = (int) PPOLL.invokeExact(capture, pollFds, (long) count, timespec, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("ppoll", t);
        }
        if (rc < 0) {
            int errno = Errno.get(capture);
            if (errno == Errno.EINTR) {
                return 0;
            }
            throw new NativeException("ppoll(" + count + " descriptors)", errno);
        }
        if (rc == 0) {
            return 0;
        }
        int result = revents(0) != 0 ? 1 : 0;
        for (int i = 1; i < count; i++) {
            short ev = revents(i);
            if (ev != 0) {
                result |= (ev & POLLNVAL) != 0 ? 4 : 2;
            }
        }
        return result;
    }

    /** After an {@link #await} that reported 4: the descriptors that were not open. */
    public int[] invalid() {
        int n = 0;
        for (int i = 1; i < count; i++) {
            if ((revents(i) & POLLNVAL) != 0) {
                n++;
            }
        }
        int[] out = new int[n];
        n = 0;
        for (int i = 1; i < count; i++) {
            if ((revents(i) & POLLNVAL) != 0) {
                out[n++] = pollFds.get(JAVA_INT, i * POLLFD_SIZE);
            }
        }
        return out;
    }

    private short revents(int i) {
        return pollFds.get(JAVA_SHORT, i * POLLFD_SIZE + 6);
    }
}
