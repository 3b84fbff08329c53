package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * An eventfd(2) counter: the way one thread wakes another that sleeps in {@link #await} (an idle reactor), and the
 * way the kernel (io_uring, vhost irqfd/kickfd) signals user space.
 *
 * <p>{@link #signal()} may be called from any thread and allocates nothing. {@link #drain()} and {@link #await}
 * are for the one thread that owns the descriptor (they share this object's read and poll buffers).
 */
public final class EventFd implements AutoCloseable {
    public static final int EFD_SEMAPHORE = 1, EFD_NONBLOCK = Posix.O_NONBLOCK, EFD_CLOEXEC = Posix.O_CLOEXEC;
    private static final short POLLIN = 0x1;

    private static final MethodHandle EVENTFD = Libc.capturingErrno("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle PPOLL = Libc.capturingErrno("ppoll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
    /** The 8-byte value 1 that every signal() writes; read-only after class init, shared by all threads. */
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);

    static {
        ONE.set(JAVA_LONG, 0, 1L);
    }

    private final int fd;
    private final boolean nonBlocking;
    /** Owner-thread scratch: [0,8) read value, [8,16) struct pollfd, [16,32) struct timespec. */
    private final MemorySegment scratch, pollFd, timespec;
    private volatile boolean closed;

    private EventFd(int fd, boolean nonBlocking) {
        this.fd = fd;
        this.nonBlocking = nonBlocking;
        this.scratch = Arena.ofAuto().allocate(32, 8);
        this.pollFd = scratch.asSlice(8, 8);
        this.timespec = scratch.asSlice(16, 16);
        pollFd.set(JAVA_INT, 0, fd);
        pollFd.set(JAVA_SHORT, 4, POLLIN);
    }

    /** A new eventfd with counter 0 and close-on-exec; {@code nonBlocking} makes {@link #drain} return 0 when empty. */
    public static EventFd create(boolean nonBlocking) {
        int flags = EFD_CLOEXEC | (nonBlocking ? EFD_NONBLOCK : 0);
        try {
            MemorySegment capture = Errno.threadCapture();
            int fd = (int) EVENTFD.invokeExact(capture, 0, flags);
            if (fd < 0) {
                throw new NativeException("eventfd(0, " + (nonBlocking ? "EFD_CLOEXEC|EFD_NONBLOCK" : "EFD_CLOEXEC") + ")",
                        Errno.get(capture));
            }
            return new EventFd(fd, nonBlocking);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("eventfd", t);
        }
    }

    /** The descriptor (to hand to io_uring, vhost or a poll set). */
    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter, waking a thread in {@link #await}. Any thread; allocation-free. */
    public void signal() {
        long n = Posix.writeRaw(fd, ONE, 8);
        // EAGAIN: the counter is at its maximum, so a wakeup is pending already.
        if (n < 0 && n != -Errno.EAGAIN) {
            throw new NativeException("write(eventfd " + fd + ")", (int) -n);
        }
    }

    /**
     * Reads and resets the counter; returns how many signals were pending. Non-blocking: 0 when none were;
     * blocking: waits for one. Owner thread; allocation-free.
     */
    public long drain() {
        while (true) {
            long n = Posix.readRaw(fd, scratch, 8);
            if (n == 8) {
                return scratch.get(JAVA_LONG, 0);
            }
            if (n == -Errno.EAGAIN && nonBlocking) {
                return 0;
            }
            if (n != -Errno.EINTR) {
                throw new NativeException("read(eventfd " + fd + ")", n < 0 ? (int) -n : Errno.EIO);
            }
        }
    }

    /**
     * Waits until the counter is non-zero or {@code timeoutNanos} pass (negative: no limit; 0: just check).
     * Returns true when a signal is pending; it does not consume it (call {@link #drain}). A signal that interrupts
     * the wait returns false early. Owner thread; allocation-free.
     */
    public boolean await(long timeoutNanos) {
        MemorySegment timeout = MemorySegment.NULL;
        if (timeoutNanos >= 0) {
            timeout = timespec;
            timespec.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
            timespec.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
        }
        pollFd.set(JAVA_SHORT, 6, (short) 0);
        MemorySegment capture = Errno.threadCapture();
        int rc;
        try {
            rc = (int) PPOLL.invokeExact(capture, pollFd, 1L, timeout, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("ppoll", t);
        }
        if (rc < 0) {
            int errno = Errno.get(capture);
            if (errno == Errno.EINTR) {
                return false;
            }
            throw new NativeException("ppoll(eventfd " + fd + ")", errno);
        }
        return rc > 0;
    }

    /** Closes the descriptor; idempotent. Stop the threads that signal it first: the number may be reused. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Posix.close(fd);
        }
    }

    @Override
    public String toString() {
        return "EventFd[fd " + fd + (closed ? ", closed]" : "]");
    }
}
