package io.ustor.env;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * ioctl(2), which C declares variadic: {@code int ioctl(int fd, unsigned long request, ...)}. The third argument
 * is either a number ({@link #ioctl(int, long, long)}) or a pointer to a struct ({@link #ioctl(int, long,
 * MemorySegment)}); the two need distinct downcall handles. Request numbers are built with {@link #io},
 * {@link #ior}, {@link #iow} and {@link #iowr} as the kernel's {@code _IO*} macros do.
 */
public final class Ioctl {
    /** Direction bits of a request number (asm-generic/ioctl.h). */
    public static final int IOC_NONE = 0, IOC_WRITE = 1, IOC_READ = 2;

    private static final MethodHandle IOCTL_LONG = Libc.capturingErrnoVariadic("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
    private static final MethodHandle IOCTL_PTR = Libc.capturingErrnoVariadic("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);

    private Ioctl() {
    }

    /** {@code _IOC(dir, type, nr, size)}. */
    public static long ioc(int dir, int type, int nr, long size) {
        return ((long) dir << 30) | (size << 16) | ((long) type << 8) | nr;
    }

    /** {@code _IO(type, nr)}: no argument data. */
    public static long io(int type, int nr) {
        return ioc(IOC_NONE, type, nr, 0);
    }

    /** {@code _IOR(type, nr, size)}: the kernel writes {@code size} bytes to user space. */
    public static long ior(int type, int nr, long size) {
        return ioc(IOC_READ, type, nr, size);
    }

    /** {@code _IOW(type, nr, size)}: the kernel reads {@code size} bytes from user space. */
    public static long iow(int type, int nr, long size) {
        return ioc(IOC_WRITE, type, nr, size);
    }

    /** {@code _IOWR(type, nr, size)}. */
    public static long iowr(int type, int nr, long size) {
        return ioc(IOC_READ | IOC_WRITE, type, nr, size);
    }

    /** ioctl with a number argument; returns the (non-negative) result, throws naming fd and request. */
    public static int ioctl(int fd, long request, long arg) {
        int rc = ioctlRaw(fd, request, arg);
        if (rc < 0) {
            throw new NativeException("ioctl(fd " + fd + ", 0x" + Long.toHexString(request) + ", " + arg + ")", -rc);
        }
        return rc;
    }

    /** ioctl with a pointer argument; returns the (non-negative) result, throws naming fd and request. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        int rc = ioctlRaw(fd, request, arg);
        if (rc < 0) {
            throw new NativeException("ioctl(fd " + fd + ", 0x" + Long.toHexString(request) + ")", -rc);
        }
        return rc;
    }

    /** ioctl with a number argument: the result or -errno; allocation-free. */
    public static int ioctlRaw(int fd, long request, long arg) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) IOCTL_LONG.invokeExact(capture, fd, request, arg);
            return rc < 0 ? -Errno.get(capture) : rc;
        } catch (Throwable t) {
            throw new IllegalStateException("ioctl", t);
        }
    }

    /** ioctl with a pointer argument: the result or -errno; allocation-free. */
    public static int ioctlRaw(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) IOCTL_PTR.invokeExact(capture, fd, request, arg);
            return rc < 0 ? -Errno.get(capture) : rc;
        } catch (Throwable t) {
            throw new IllegalStateException("ioctl", t);
        }
    }
}
