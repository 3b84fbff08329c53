package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MmanTest {
    @Test
    void anonymousMappingHasTheRequestedSizeAndIsUsable() {
        MemorySegment m = Mman.mmapAnonymous(3 * Mman.PAGE_SIZE, Mman.MAP_POPULATE);
        try {
            assertEquals(3 * Mman.PAGE_SIZE, m.byteSize());
            assertEquals(0, m.address() % Mman.PAGE_SIZE);
            assertEquals(0L, m.get(JAVA_LONG, 8192), "anonymous memory starts zeroed");
            m.set(JAVA_LONG, 8192, 0xdeadbeefL);
            assertEquals(0xdeadbeefL, m.get(JAVA_LONG, 8192));
            Mman.mlock(m);
            Mman.madvise(m, Mman.MADV_DONTFORK);
            Mman.munlock(m);
        } finally {
            Mman.munmap(m);
        }
    }

    @Test
    void arenaScopedMappingIsUnmappedOnClose() {
        MemorySegment m;
        try (Arena arena = Arena.ofConfined()) {
            m = Mman.mmap(MemorySegment.NULL, Mman.PAGE_SIZE, Mman.PROT_READ | Mman.PROT_WRITE,
                    Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0, arena);
            m.set(JAVA_LONG, 0, 7);
            assertEquals(7, m.get(JAVA_LONG, 0));
        }
        MemorySegment closed = m;
        assertThrows(IllegalStateException.class, () -> closed.get(JAVA_LONG, 0));
    }

    @Test
    void failedMmapNamesSizeFlagsAndErrno() {
        NativeException e = assertThrows(NativeException.class, () -> Mman.mmap(MemorySegment.NULL, Mman.PAGE_SIZE,
                Mman.PROT_READ, Mman.MAP_SHARED, -1, 0));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().contains("4096 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("MAP_SHARED"), e.getMessage());
        assertTrue(e.getMessage().contains("fd -1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Mman.mmapAnonymous(0, 0));
    }

    @Test
    void describesHugeFlags() {
        assertEquals("MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB",
                Mman.describeFlags(Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_HUGETLB | Mman.MAP_HUGE_2MB));
    }
}
