package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * File descriptors and files: open, close, read/write (positional or not), size, truncate, allocate, sync, unlink.
 *
 * <p>Each call comes in up to two forms. The plain form ({@link #pread}) throws a {@link NativeException} that
 * names the call, its descriptor/path/size arguments and the errno text; it is for the control plane. The
 * {@code Raw} form ({@link #preadRaw}) returns the result or a negative errno, allocates nothing and captures
 * errno in the thread's own capture segment; it is for code on a reactor.
 *
 * <p>Buffers must be native segments (off-heap, mapped or DMA memory), not heap arrays.
 */
public final class Posix {
    /** Open flags (x86-64 Linux values, octal as in the C headers). */
    public static final int O_RDONLY = 0, O_WRONLY = 01, O_RDWR = 02, O_CREAT = 0100, O_EXCL = 0200,
            O_NOCTTY = 0400, O_TRUNC = 01000, O_APPEND = 02000, O_NONBLOCK = 04000, O_DSYNC = 010000,
            O_DIRECT = 040000, O_LARGEFILE = 0100000, O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000,
            O_NOATIME = 01000000, O_CLOEXEC = 02000000, O_SYNC = 04010000, O_PATH = 010000000,
            O_TMPFILE = 020200000;

    /** {@link #fallocate} modes. */
    public static final int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02, FALLOC_FL_COLLAPSE_RANGE = 0x08,
            FALLOC_FL_ZERO_RANGE = 0x10, FALLOC_FL_INSERT_RANGE = 0x20;

    /** File type bits of {@link FileStat#mode()}. */
    public static final int S_IFMT = 0170000, S_IFSOCK = 0140000, S_IFLNK = 0120000, S_IFREG = 0100000,
            S_IFBLK = 060000, S_IFDIR = 040000, S_IFCHR = 020000, S_IFIFO = 010000;

    /** Block device ioctls: size in bytes (u64) and logical sector size (int). */
    public static final long BLKGETSIZE64 = Ioctl.ior(0x12, 114, 8), BLKSSZGET = Ioctl.io(0x12, 104),
            BLKPBSZGET = Ioctl.io(0x12, 123);

    // struct stat on x86-64: 144 bytes; offsets from <bits/struct_stat.h>.
    private static final long STAT_SIZE = 144, ST_DEV = 0, ST_INO = 8, ST_MODE = 24, ST_RDEV = 40, ST_SIZE = 48,
            ST_BLKSIZE = 56, ST_BLOCKS = 64;

    private static final MethodHandle OPEN = Libc.capturingErrnoVariadic("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle CLOSE = Libc.capturingErrno("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PREAD = Libc.capturingErrno("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = Libc.capturingErrno("pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle READ = Libc.capturingErrno("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = Libc.capturingErrno("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FSTAT = Libc.capturingErrno("fstat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle FTRUNCATE = Libc.capturingErrno("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FALLOCATE = Libc.capturingErrno("fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FSYNC = Libc.capturingErrno("fsync",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FDATASYNC = Libc.capturingErrno("fdatasync",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle UNLINK = Libc.capturingErrno("unlink",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));

    private Posix() {
    }

    /** What fstat reports about a file, the fields this project uses. */
    public record FileStat(long dev, long ino, int mode, long rdev, long size, long blockSize, long blocks) {
        /** A regular file. */
        public boolean isRegularFile() {
            return (mode & S_IFMT) == S_IFREG;
        }

        /** A block device (its {@link #size()} is 0; use {@link Posix#size}). */
        public boolean isBlockDevice() {
            return (mode & S_IFMT) == S_IFBLK;
        }

        /** A directory. */
        public boolean isDirectory() {
            return (mode & S_IFMT) == S_IFDIR;
        }

        /** A character device. */
        public boolean isCharacterDevice() {
            return (mode & S_IFMT) == S_IFCHR;
        }
    }

    /** open(2) with mode 0644 for created files. */
    public static int open(String path, int flags) {
        return open(path, flags, 0644);
    }

    /** open(2); returns the descriptor, throws naming the path and the flags on failure. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Errno.newCaptureSegment(arena);
            int fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags, mode);
            if (fd < 0) {
                throw new NativeException("open(" + path + ", " + describeFlags(flags) + ")", Errno.get(capture));
            }
            return fd;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("open(" + path + ")", t);
        }
    }

    /** close(2); throws on failure (EBADF, or EIO from a delayed write error). */
    public static void close(int fd) {
        int rc = closeRaw(fd);
        if (rc < 0) {
            throw new NativeException("close(fd " + fd + ")", -rc);
        }
    }

    /** close(2) returning 0 or -errno; never throws. For cleanup paths. */
    public static int closeRaw(int fd) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) CLOSE.invokeExact(capture, fd);
            return rc < 0 ? -Errno.get(capture) : rc;
        } catch (Throwable t) {
            throw new IllegalStateException("close", t);
        }
    }

    /** pread(2) of {@code count} bytes at {@code offset} into {@code buf}; returns bytes read (0 at end of file). */
    public static long pread(int fd, MemorySegment buf, long count, long offset) {
        long n = preadRaw(fd, buf, count, offset);
        if (n < 0) {
            throw new NativeException("pread(fd " + fd + ", " + count + " bytes at " + offset + ")", (int) -n);
        }
        return n;
    }

    /** pread(2) returning bytes read or -errno; allocation-free. */
    public static long preadRaw(int fd, MemorySegment buf, long count, long offset) {
        checkBounds(buf, count);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) PREAD.invokeExact(capture, fd, buf, count, offset);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("pread", t);
        }
    }

    /** pwrite(2) of {@code count} bytes from {@code buf} at {@code offset}; returns bytes written. */
    public static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        long n = pwriteRaw(fd, buf, count, offset);
        if (n < 0) {
            throw new NativeException("pwrite(fd " + fd + ", " + count + " bytes at " + offset + ")", (int) -n);
        }
        return n;
    }

    /** pwrite(2) returning bytes written or -errno; allocation-free. */
    public static long pwriteRaw(int fd, MemorySegment buf, long count, long offset) {
        checkBounds(buf, count);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) PWRITE.invokeExact(capture, fd, buf, count, offset);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("pwrite", t);
        }
    }

    /** read(2); returns bytes read (0 at end of file). */
    public static long read(int fd, MemorySegment buf, long count) {
        long n = readRaw(fd, buf, count);
        if (n < 0) {
            throw new NativeException("read(fd " + fd + ", " + count + " bytes)", (int) -n);
        }
        return n;
    }

    /** read(2) returning bytes read or -errno (-EAGAIN on an empty non-blocking descriptor); allocation-free. */
    public static long readRaw(int fd, MemorySegment buf, long count) {
        checkBounds(buf, count);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) READ.invokeExact(capture, fd, buf, count);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("read", t);
        }
    }

    /** write(2); returns bytes written. */
    public static long write(int fd, MemorySegment buf, long count) {
        long n = writeRaw(fd, buf, count);
        if (n < 0) {
            throw new NativeException("write(fd " + fd + ", " + count + " bytes)", (int) -n);
        }
        return n;
    }

    /** write(2) returning bytes written or -errno; allocation-free. */
    public static long writeRaw(int fd, MemorySegment buf, long count) {
        checkBounds(buf, count);
        try {
            MemorySegment capture = Errno.threadCapture();
            long n = (long) WRITE.invokeExact(capture, fd, buf, count);
            return n < 0 ? -Errno.get(capture) : n;
        } catch (Throwable t) {
            throw new IllegalStateException("write", t);
        }
    }

    /**
     * Reads exactly {@code buf.byteSize()} bytes at {@code offset}, retrying short reads and EINTR; throws on an
     * error or when the file ends first. Control plane.
     */
    public static void preadFully(int fd, MemorySegment buf, long offset) {
        long done = 0, total = buf.byteSize();
        while (done < total) {
            long n = preadRaw(fd, buf.asSlice(done), total - done, offset + done);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new NativeException("pread(fd " + fd + ", " + (total - done) + " bytes at " + (offset + done) + ")", (int) -n);
            }
            if (n == 0) {
                throw new IllegalStateException("pread(fd " + fd + "): end of file at " + (offset + done)
                        + ", wanted " + total + " bytes from " + offset);
            }
            done += n;
        }
    }

    /** Writes all of {@code buf} at {@code offset}, retrying short writes and EINTR. Control plane. */
    public static void pwriteFully(int fd, MemorySegment buf, long offset) {
        long done = 0, total = buf.byteSize();
        while (done < total) {
            long n = pwriteRaw(fd, buf.asSlice(done), total - done, offset + done);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new NativeException("pwrite(fd " + fd + ", " + (total - done) + " bytes at " + (offset + done) + ")", (int) -n);
            }
            done += n;
        }
    }

    /** fstat(2). */
    public static FileStat fstat(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Errno.newCaptureSegment(arena);
            MemorySegment st = arena.allocate(STAT_SIZE, 8);
            int rc = (int) FSTAT.invokeExact(capture, fd, st);
            if (rc < 0) {
                throw new NativeException("fstat(fd " + fd + ")", Errno.get(capture));
            }
            return new FileStat(st.get(JAVA_LONG, ST_DEV), st.get(JAVA_LONG, ST_INO), st.get(JAVA_INT, ST_MODE),
                    st.get(JAVA_LONG, ST_RDEV), st.get(JAVA_LONG, ST_SIZE), st.get(JAVA_LONG, ST_BLKSIZE),
                    st.get(JAVA_LONG, ST_BLOCKS));
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("fstat", t);
        }
    }

    /** Size in bytes of a regular file (fstat) or a block device (ioctl BLKGETSIZE64). */
    public static long size(int fd) {
        FileStat st = fstat(fd);
        if (!st.isBlockDevice()) {
            return st.size();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            Ioctl.ioctl(fd, BLKGETSIZE64, out);
            return out.get(JAVA_LONG, 0);
        }
    }

    /** Logical sector size of a block device (ioctl BLKSSZGET), e.g. 512 or 4096. */
    public static int logicalBlockSize(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Ioctl.ioctl(fd, BLKSSZGET, out);
            return out.get(JAVA_INT, 0);
        }
    }

    /** ftruncate(2): sets the file's size. */
    public static void ftruncate(int fd, long size) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) FTRUNCATE.invokeExact(capture, fd, size);
            if (rc < 0) {
                throw new NativeException("ftruncate(fd " + fd + ", " + size + ")", Errno.get(capture));
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ftruncate", t);
        }
    }

    /** fallocate(2) with a mode from FALLOC_FL_* (0 = allocate and extend). */
    public static void fallocate(int fd, int mode, long offset, long length) {
        int rc = fallocateRaw(fd, mode, offset, length);
        if (rc < 0) {
            throw new NativeException("fallocate(fd " + fd + ", mode " + mode + ", " + length + " bytes at " + offset + ")", -rc);
        }
    }

    /** fallocate(2) returning 0 or -errno (-EOPNOTSUPP where the file system lacks the mode); allocation-free. */
    public static int fallocateRaw(int fd, int mode, long offset, long length) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) FALLOCATE.invokeExact(capture, fd, mode, offset, length);
            return rc < 0 ? -Errno.get(capture) : rc;
        } catch (Throwable t) {
            throw new IllegalStateException("fallocate", t);
        }
    }

    /** fsync(2). */
    public static void fsync(int fd) {
        int rc = fsyncRaw(fd);
        if (rc < 0) {
            throw new NativeException("fsync(fd " + fd + ")", -rc);
        }
    }

    /** fsync(2) returning 0 or -errno. */
    public static int fsyncRaw(int fd) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) FSYNC.invokeExact(capture, fd);
            return rc < 0 ? -Errno.get(capture) : rc;
        } catch (Throwable t) {
            throw new IllegalStateException("fsync", t);
        }
    }

    /** fdatasync(2). */
    public static void fdatasync(int fd) {
        int rc = fdatasyncRaw(fd);
        if (rc < 0) {
            throw new NativeException("fdatasync(fd " + fd + ")", -rc);
        }
    }

    /** fdatasync(2) returning 0 or -errno. */
    public static int fdatasyncRaw(int fd) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) FDATASYNC.invokeExact(capture, fd);
            return rc < 0 ? -Errno.get(capture) : rc;
        } catch (Throwable t) {
            throw new IllegalStateException("fdatasync", t);
        }
    }

    /** unlink(2). */
    public static void unlink(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Errno.newCaptureSegment(arena);
            int rc = (int) UNLINK.invokeExact(capture, arena.allocateFrom(path));
            if (rc < 0) {
                throw new NativeException("unlink(" + path + ")", Errno.get(capture));
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("unlink(" + path + ")", t);
        }
    }

    /** Open flags as text for error messages, e.g. "O_RDWR|O_CREAT|O_DIRECT". */
    public static String describeFlags(int flags) {
        StringBuilder sb = new StringBuilder(switch (flags & 03) {
            case O_WRONLY -> "O_WRONLY";
            case O_RDWR -> "O_RDWR";
            case O_RDONLY -> "O_RDONLY";
            default -> "O_ACCMODE(3)";
        });
        int rest = flags & ~03;
        if ((rest & O_TMPFILE) == O_TMPFILE) {
            sb.append("|O_TMPFILE");
            rest &= ~O_TMPFILE;
        }
        if ((rest & O_SYNC) == O_SYNC) {
            sb.append("|O_SYNC");
            rest &= ~O_SYNC;
        }
        int[] bits = {O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_DIRECT, O_LARGEFILE,
                O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH};
        String[] names = {"O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC", "O_DIRECT",
                "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH"};
        for (int i = 0; i < bits.length; i++) {
            if ((rest & bits[i]) != 0) {
                sb.append('|').append(names[i]);
                rest &= ~bits[i];
            }
        }
        if (rest != 0) {
            sb.append("|0").append(Integer.toOctalString(rest));
        }
        return sb.toString();
    }

    private static void checkBounds(MemorySegment buf, long count) {
        if (count < 0 || count > buf.byteSize()) {
            throw new IndexOutOfBoundsException("count " + count + " outside buffer of " + buf.byteSize() + " bytes");
        }
    }
}
