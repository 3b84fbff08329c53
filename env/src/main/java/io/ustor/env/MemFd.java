package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * memfd_create(2): an anonymous file in memory, the kind of descriptor vhost-user passes around for shared memory.
 * Size it with {@link Posix#ftruncate}, map it with {@link Mman#mmap} (MAP_SHARED), close it with {@link Posix#close}.
 */
public final class MemFd {
    public static final int MFD_CLOEXEC = 0x1, MFD_ALLOW_SEALING = 0x2, MFD_HUGETLB = 0x4,
            MFD_NOEXEC_SEAL = 0x8, MFD_EXEC = 0x10;
    /** Page size selection with MFD_HUGETLB (same encoding as MAP_HUGE_*). */
    public static final int MFD_HUGE_2MB = Mman.MAP_HUGE_2MB, MFD_HUGE_1GB = Mman.MAP_HUGE_1GB;

    private static final MethodHandle MEMFD_CREATE = Libc.capturingErrno("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private MemFd() {
    }

    /** memfd_create(name, flags); returns the descriptor. The name shows in /proc/self/fd as "memfd:name". */
    public static int create(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Errno.newCaptureSegment(arena);
            int fd = (int) MEMFD_CREATE.invokeExact(capture, arena.allocateFrom(name), flags);
            if (fd < 0) {
                int errno = Errno.get(capture);
                throw new NativeException("memfd_create(" + name + ", flags 0x" + Integer.toHexString(flags) + ")", errno,
                        (flags & MFD_HUGETLB) != 0 && (errno == Errno.EINVAL || errno == Errno.ENOMEM)
                                ? "Huge pages of that size may not be configured (see /proc/meminfo)" : null);
            }
            return fd;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("memfd_create(" + name + ")", t);
        }
    }

    /** memfd_create then ftruncate to {@code size}; closes the descriptor again if the truncate fails. */
    public static int create(String name, long size, int flags) {
        int fd = create(name, flags);
        try {
            Posix.ftruncate(fd, size);
            return fd;
        } catch (RuntimeException e) {
            Posix.closeRaw(fd);
            throw e;
        }
    }
}
