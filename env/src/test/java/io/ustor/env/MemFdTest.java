package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemFdTest {
    @Test
    void writeThroughMappingReadBackThroughDescriptorAndSecondMapping() throws Exception {
        long size = 2 * Mman.PAGE_SIZE;
        int fd = MemFd.create("ustor-test", size, MemFd.MFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(size, Posix.size(fd));
            assertTrue(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("/memfd:ustor-test"));
            int rw = Mman.PROT_READ | Mman.PROT_WRITE;
            MemorySegment a = Mman.mmap(MemorySegment.NULL, size, rw, Mman.MAP_SHARED, fd, 0, arena);
            MemorySegment b = Mman.mmap(MemorySegment.NULL, size, rw, Mman.MAP_SHARED, fd, 0, arena);
            a.set(JAVA_LONG, 4096, 0x0123456789abcdefL);
            assertEquals(0x0123456789abcdefL, b.get(JAVA_LONG, 4096), "two shared mappings see the same page");

            MemorySegment in = arena.allocate(8);
            assertEquals(8, Posix.pread(fd, in, 8, 4096));
            assertEquals(0x0123456789abcdefL, in.get(JAVA_LONG, 0));

            in.set(JAVA_LONG, 0, 42);
            Posix.pwrite(fd, in, 8, 0);
            assertEquals(42, a.get(JAVA_LONG, 0), "a pwrite shows in the mapping");
        } finally {
            Posix.close(fd);
        }
    }
}
