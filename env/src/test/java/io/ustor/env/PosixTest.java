package io.ustor.env;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PosixTest {
    @TempDir
    Path dir;

    @Test
    void openOfMissingPathNamesThePathAndEnoent() {
        String path = dir.resolve("no-such-file").toString();
        NativeException e = assertThrows(NativeException.class, () -> Posix.open(path, Posix.O_RDONLY));
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().contains(path), e.getMessage());
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertTrue(e.getMessage().contains("No such file or directory"), e.getMessage());
        assertTrue(e.getMessage().contains("O_RDONLY"), e.getMessage());
    }

    @Test
    void writeReadBackSizeTruncateSyncUnlink() throws Exception {
        Path file = dir.resolve("data");
        int fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CREAT | Posix.O_CLOEXEC, 0600);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocateFrom("hello, ustor", StandardCharsets.US_ASCII);
            long len = out.byteSize() - 1; // without the NUL
            assertEquals(len, Posix.pwrite(fd, out, len, 4096));
            assertEquals(4096 + len, Posix.size(fd));
            assertTrue(Posix.fstat(fd).isRegularFile());
            Posix.fdatasync(fd);
            Posix.fsync(fd);

            MemorySegment in = arena.allocate(len);
            assertEquals(len, Posix.pread(fd, in, len, 4096));
            assertArrayEquals(out.asSlice(0, len).toArray(JAVA_BYTE), in.toArray(JAVA_BYTE));
            assertEquals(0, Posix.pread(fd, in, len, 1 << 20), "pread past end of file reads nothing");

            Posix.ftruncate(fd, 100);
            assertEquals(100, Posix.size(fd));
            Posix.fallocate(fd, 0, 0, 8192);
            assertEquals(8192, Posix.size(fd));

            MemorySegment zeros = arena.allocate(8192);
            Posix.preadFully(fd, zeros, 0);
            assertEquals(-1, zeros.asSlice(100).mismatch(arena.allocate(8092)));
            assertThrows(IllegalStateException.class, () -> Posix.preadFully(fd, arena.allocate(16), 8190));
        } finally {
            Posix.close(fd);
        }
        assertEquals(8192, Files.size(file));
        Posix.unlink(file.toString());
        assertFalse(Files.exists(file));
        NativeException e = assertThrows(NativeException.class, () -> Posix.unlink(file.toString()));
        assertTrue(e.getMessage().startsWith("unlink(" + file), e.getMessage());
    }

    @Test
    void rawFormsReturnNegativeErrno() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(16);
            assertEquals(-Errno.EBADF, Posix.preadRaw(-1, buf, 16, 0));
            assertEquals(-Errno.EBADF, Posix.writeRaw(-1, buf, 16));
            assertEquals(-Errno.EBADF, Posix.closeRaw(-1));
            NativeException e = assertThrows(NativeException.class, () -> Posix.pread(-1, buf, 16, 512));
            assertEquals("pread(fd -1, 16 bytes at 512)", e.call());
            assertThrows(IndexOutOfBoundsException.class, () -> Posix.preadRaw(-1, buf, 17, 0));
        }
    }

    @Test
    void odirectReadOfAlignedBuffer() throws Exception {
        Path file = dir.resolve("direct");
        Files.write(file, new byte[8192]);
        int fd;
        try {
            fd = Posix.open(file.toString(), Posix.O_RDONLY | Posix.O_DIRECT);
        } catch (NativeException e) {
            // tmpfs has no O_DIRECT; the message must still say what failed.
            assertEquals(Errno.EINVAL, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("O_DIRECT"), e.getMessage());
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096, 4096);
            assertEquals(4096, Posix.pread(fd, buf, 4096, 4096));
        } finally {
            Posix.close(fd);
        }
    }

    @Test
    void describesFlags() {
        assertEquals("O_RDWR|O_CREAT|O_DIRECT|O_CLOEXEC",
                Posix.describeFlags(Posix.O_RDWR | Posix.O_CREAT | Posix.O_DIRECT | Posix.O_CLOEXEC));
        assertEquals("O_WRONLY|O_SYNC", Posix.describeFlags(Posix.O_WRONLY | Posix.O_SYNC));
    }
}
