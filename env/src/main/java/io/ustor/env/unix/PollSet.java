package io.ustor.env.unix;

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
 * poll(2) over a small fixed set of descriptors, for a control thread that waits on a listener, a connection and a
 * stop eventfd at once. One owner thread; {@link #poll} allocates nothing.
 */
public final class PollSet {
    public static final short POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
    private static final MethodHandle POLL = Libc.capturingErrno("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private final int capacity;
    private final MemorySegment fds;

    public PollSet(int capacity) {
        this.capacity = capacity;
        this.fds = Arena.ofAuto().allocate(8L * capacity, 8);
        for (int i = 0; i < capacity; i++) {
            set(i, -1, (short) 0);
        }
    }

    /** Sets slot {@code i} to watch {@code fd} for {@code events}; a negative fd disables the slot. */
    public void set(int i, int fd, short events) {
        fds.set(JAVA_INT, 8L * i, fd);
        fds.set(JAVA_SHORT, 8L * i + 4, events);
        fds.set(JAVA_SHORT, 8L * i + 6, (short) 0);
    }

    /** Waits up to {@code timeoutMillis} (-1: no limit): number of ready slots, 0 on timeout or EINTR. */
    public int poll(int timeoutMillis) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) POLL.invokeExact(capture, fds, (long) capacity, timeoutMillis);
            if (rc < 0) {
                int errno = Errno.get(capture);
                if (errno == Errno.EINTR) {
                    return 0;
                }
                throw new NativeException("poll(" + capacity + " fds)", errno);
            }
            return rc;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("poll", t);
        }
    }

    /** The returned events of slot {@code i} after {@link #poll}. */
    public short revents(int i) {
        return fds.get(JAVA_SHORT, 8L * i + 6);
    }
}
