package io.ustor.env;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C library's {@code long syscall(long number, ...)}, for system calls glibc does not wrap (io_uring, ...).
 * Arguments are passed as longs: a pointer is {@code segment.address()}, and the caller keeps that segment alive
 * for the call. One overload per arity (0 to 6 arguments) so no call allocates a varargs array.
 *
 * <p>{@code invoke} returns the result or throws a {@link NativeException} naming the call; {@code raw} returns the
 * result or a negative errno and allocates nothing.
 */
public final class Syscall {
    /** x86-64 system call numbers this project uses. */
    public static final long SYS_GETTID = 186, SYS_GETCPU = 309, SYS_MEMFD_CREATE = 319, SYS_MEMBARRIER = 324,
            SYS_IO_URING_SETUP = 425, SYS_IO_URING_ENTER = 426, SYS_IO_URING_REGISTER = 427, SYS_PIDFD_OPEN = 434,
            SYS_MBIND = 237, SYS_GET_MEMPOLICY = 239, SYS_SET_MEMPOLICY = 238, SYS_MOVE_PAGES = 279;

    private static final MethodHandle[] SYSCALL = new MethodHandle[7];

    static {
        for (int n = 0; n <= 6; n++) {
            MemoryLayout[] args = new MemoryLayout[n + 1];
            java.util.Arrays.fill(args, JAVA_LONG);
            SYSCALL[n] = Libc.capturingErrnoVariadic("syscall", FunctionDescriptor.of(JAVA_LONG, args), 1);
        }
    }

    private static final MethodHandle S0 = SYSCALL[0], S1 = SYSCALL[1], S2 = SYSCALL[2], S3 = SYSCALL[3],
            S4 = SYSCALL[4], S5 = SYSCALL[5], S6 = SYSCALL[6];

    private Syscall() {
    }

    /** syscall(nr); throws on failure. */
    public static long invoke(long nr) {
        return check(raw(nr), nr);
    }

    /** syscall(nr, a1); throws on failure. */
    public static long invoke(long nr, long a1) {
        return check(raw(nr, a1), nr);
    }

    /** syscall(nr, a1, a2); throws on failure. */
    public static long invoke(long nr, long a1, long a2) {
        return check(raw(nr, a1, a2), nr);
    }

    /** syscall(nr, a1, a2, a3); throws on failure. */
    public static long invoke(long nr, long a1, long a2, long a3) {
        return check(raw(nr, a1, a2, a3), nr);
    }

    /** syscall(nr, a1 .. a4); throws on failure. */
    public static long invoke(long nr, long a1, long a2, long a3, long a4) {
        return check(raw(nr, a1, a2, a3, a4), nr);
    }

    /** syscall(nr, a1 .. a5); throws on failure. */
    public static long invoke(long nr, long a1, long a2, long a3, long a4, long a5) {
        return check(raw(nr, a1, a2, a3, a4, a5), nr);
    }

    /** syscall(nr, a1 .. a6); throws on failure. */
    public static long invoke(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        return check(raw(nr, a1, a2, a3, a4, a5, a6), nr);
    }

    /** syscall(nr): the result or -errno. */
    public static long raw(long nr) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S0.invokeExact(c, nr), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** syscall(nr, a1): the result or -errno. */
    public static long raw(long nr, long a1) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S1.invokeExact(c, nr, a1), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** syscall(nr, a1, a2): the result or -errno. */
    public static long raw(long nr, long a1, long a2) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S2.invokeExact(c, nr, a1, a2), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** syscall(nr, a1, a2, a3): the result or -errno. */
    public static long raw(long nr, long a1, long a2, long a3) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S3.invokeExact(c, nr, a1, a2, a3), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** syscall(nr, a1 .. a4): the result or -errno. */
    public static long raw(long nr, long a1, long a2, long a3, long a4) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S4.invokeExact(c, nr, a1, a2, a3, a4), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** syscall(nr, a1 .. a5): the result or -errno. */
    public static long raw(long nr, long a1, long a2, long a3, long a4, long a5) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S5.invokeExact(c, nr, a1, a2, a3, a4, a5), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** syscall(nr, a1 .. a6): the result or -errno. */
    public static long raw(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        try {
            MemorySegment c = Errno.threadCapture();
            return result((long) S6.invokeExact(c, nr, a1, a2, a3, a4, a5, a6), c);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall", t);
        }
    }

    /** The kernel id of the calling thread (gettid). */
    public static int gettid() {
        return (int) invoke(SYS_GETTID);
    }

    private static long result(long rc, MemorySegment capture) {
        return rc == -1 ? -Errno.get(capture) : rc;
    }

    private static long check(long rc, long nr) {
        if (rc < 0) {
            throw new NativeException("syscall(" + name(nr) + ")", (int) -rc);
        }
        return rc;
    }

    private static String name(long nr) {
        if (nr == SYS_GETTID) return "gettid";
        if (nr == SYS_GETCPU) return "getcpu";
        if (nr == SYS_MEMFD_CREATE) return "memfd_create";
        if (nr == SYS_MEMBARRIER) return "membarrier";
        if (nr == SYS_IO_URING_SETUP) return "io_uring_setup";
        if (nr == SYS_IO_URING_ENTER) return "io_uring_enter";
        if (nr == SYS_IO_URING_REGISTER) return "io_uring_register";
        if (nr == SYS_PIDFD_OPEN) return "pidfd_open";
        if (nr == SYS_MBIND) return "mbind";
        if (nr == SYS_GET_MEMPOLICY) return "get_mempolicy";
        if (nr == SYS_SET_MEMPOLICY) return "set_mempolicy";
        if (nr == SYS_MOVE_PAGES) return "move_pages";
        return "nr " + nr;
    }
}
