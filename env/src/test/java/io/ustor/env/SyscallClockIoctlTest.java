package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyscallClockIoctlTest {
    @Test
    void rawSyscallGettidAndMemfdCreate() {
        assertTrue(Syscall.gettid() > 0);
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) Syscall.invoke(Syscall.SYS_MEMFD_CREATE, arena.allocateFrom("via-syscall").address(),
                    MemFd.MFD_CLOEXEC);
            assertTrue(fd >= 0);
            Posix.ftruncate(fd, 4096);
            assertEquals(4096, Posix.size(fd));
            Posix.close(fd);
        }
        assertEquals(-Errno.EBADF, Syscall.raw(Syscall.SYS_IO_URING_ENTER, -1, 0, 0, 0, 0, 0));
        NativeException e = assertThrows(NativeException.class, () -> Syscall.invoke(Syscall.SYS_IO_URING_ENTER, -1, 0, 0, 0, 0, 0));
        assertTrue(e.getMessage().startsWith("syscall(io_uring_enter)"), e.getMessage());
    }

    @Test
    void clocksAdvance() {
        long t0 = Clock.nanos(Clock.CLOCK_MONOTONIC);
        long cpu0 = Clock.threadCpuNanos();
        long x = 0;
        for (int i = 0; i < 1_000_000; i++) {
            x += i * 31L;
        }
        assertTrue(x != 1);
        assertTrue(Clock.nanos(Clock.CLOCK_MONOTONIC) >= t0);
        assertTrue(Clock.threadCpuNanos() > cpu0);
        assertTrue(Clock.processCpuNanos() > 0);
        assertTrue(Clock.resolutionNanos(Clock.CLOCK_MONOTONIC) > 0);
        assertEquals(Errno.EINVAL, assertThrows(NativeException.class, () -> Clock.nanos(99)).errno());
    }

    @Test
    void ioctlOnARegularFileIsEnottyAndRequestNumbersMatchTheKernelMacros() {
        // Values from <linux/fs.h> and <linux/vfio.h>.
        assertEquals(0x80081272L, Posix.BLKGETSIZE64);
        assertEquals(0x1268L, Posix.BLKSSZGET);
        assertEquals(0x3b64L, Ioctl.io(';', 100)); // VFIO_GET_API_VERSION
        int fd = MemFd.create("ioctl", MemFd.MFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(8);
            NativeException e = assertThrows(NativeException.class, () -> Ioctl.ioctl(fd, Posix.BLKGETSIZE64, out));
            assertEquals(Errno.ENOTTY, e.errno());
            assertTrue(e.getMessage().contains("0x80081272"), e.getMessage());
            assertEquals(-Errno.ENOTTY, Ioctl.ioctlRaw(fd, Posix.BLKSSZGET, 0L));
        } finally {
            Posix.close(fd);
        }
    }
}
