package io.ustor.bdev.aio;

import io.ustor.env.Errno;
import io.ustor.env.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * What O_DIRECT on an open file requires, from statx(2) with STATX_DIOALIGN (Linux 6.1+): the alignment of buffer
 * addresses and lengths in memory, and of file offsets and lengths.
 */
record DirectIoAlignment(int memory, int offset) {
    private static final int AT_EMPTY_PATH = 0x1000, STATX_DIOALIGN = 0x2000;
    // struct statx: stx_mask at 0, stx_dio_mem_align at 152, stx_dio_offset_align at 156; 256 bytes.
    private static final long STATX_SIZE = 256, STX_MASK = 0, STX_DIO_MEM_ALIGN = 152, STX_DIO_OFFSET_ALIGN = 156;
    private static final MethodHandle STATX = Libc.capturingErrno("statx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));

    /**
     * The file's O_DIRECT alignment, or null when the kernel or file system does not say (then assume the logical
     * block size) or O_DIRECT is not supported on it (both fields 0).
     */
    static DirectIoAlignment of(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(STATX_SIZE, 8);
            MemorySegment capture = Errno.newCaptureSegment(a);
            int rc = (int) STATX.invokeExact(capture, fd, a.allocateFrom(""), AT_EMPTY_PATH, STATX_DIOALIGN, buf);
            if (rc < 0 || (buf.get(JAVA_INT, STX_MASK) & STATX_DIOALIGN) == 0) {
                return null;
            }
            return new DirectIoAlignment(buf.get(JAVA_INT, STX_DIO_MEM_ALIGN), buf.get(JAVA_INT, STX_DIO_OFFSET_ALIGN));
        } catch (Throwable t) {
            return null;
        }
    }
}
