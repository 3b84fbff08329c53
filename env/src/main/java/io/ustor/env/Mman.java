package io.ustor.env;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Memory mappings: mmap, munmap, mlock, munlock, madvise, msync. {@link #mmap} returns a segment of exactly the
 * mapped length. The plain form has the global scope (valid until {@link #munmap}; touching it after that
 * crashes the process); the form that takes an {@link Arena} unmaps when the arena closes and fails cleanly on
 * access after that.
 */
public final class Mman {
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;

    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03, MAP_FIXED = 0x10,
            MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_LOCKED = 0x2000,
            MAP_NONBLOCK = 0x10000, MAP_HUGETLB = 0x40000, MAP_FIXED_NOREPLACE = 0x100000;
    /** Page size selection with MAP_HUGETLB: log2(size) shifted by MAP_HUGE_SHIFT. */
    public static final int MAP_HUGE_SHIFT = 26, MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT, MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

    public static final int MADV_NORMAL = 0, MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_WILLNEED = 3,
            MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9, MADV_DONTFORK = 10, MADV_DOFORK = 11,
            MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15, MADV_DONTDUMP = 16, MADV_DODUMP = 17, MADV_POPULATE_READ = 22,
            MADV_POPULATE_WRITE = 23;

    public static final int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;

    /** Size of an ordinary page. */
    public static final long PAGE_SIZE = 4096;
    /** Size of a default x86-64 huge page. */
    public static final long HUGE_PAGE_SIZE_2M = 2L << 20;

    private static final long MAP_FAILED = -1L;

    private static final MethodHandle MMAP = Libc.capturingErrno("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = Libc.capturingErrno("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle MLOCK = Libc.capturingErrno("mlock",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle MUNLOCK = Libc.capturingErrno("munlock",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle MADVISE = Libc.capturingErrno("madvise",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MSYNC = Libc.capturingErrno("msync",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private Mman() {
    }

    /** An anonymous private read-write mapping of {@code length} bytes with extra MAP_* {@code flags}. */
    public static MemorySegment mmapAnonymous(long length, int flags) {
        return mmap(MemorySegment.NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    }

    /**
     * mmap(2). Returns a global-scope segment of {@code length} bytes; release it with {@link #munmap}.
     *
     * @param addr a hint (or the fixed address with MAP_FIXED); {@link MemorySegment#NULL} for none
     * @param fd   the file to map, or -1 with MAP_ANONYMOUS
     */
    public static MemorySegment mmap(MemorySegment addr, long length, int prot, int flags, int fd, long offset) {
        if (length <= 0) {
            throw new IllegalArgumentException("mmap length must be positive: " + length);
        }
        try {
            MemorySegment capture = Errno.threadCapture();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(capture, addr, length, prot, flags, fd, offset);
            if (p.address() == MAP_FAILED) {
                throw new NativeException("mmap(" + length + " bytes, " + describeProt(prot) + ", " + describeFlags(flags)
                        + ", fd " + fd + ", offset " + offset + ")", Errno.get(capture), hint(flags, Errno.get(capture)));
            }
            return p.reinterpret(length);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap", t);
        }
    }

    /** mmap(2) tied to {@code arena}: closing the arena unmaps it. */
    public static MemorySegment mmap(MemorySegment addr, long length, int prot, int flags, int fd, long offset, Arena arena) {
        MemorySegment m = mmap(addr, length, prot, flags, fd, offset);
        long address = m.address();
        return m.reinterpret(length, arena, s -> munmapQuietly(address, length));
    }

    /** munmap(2) of the whole segment. Only for segments from the global-scope {@link #mmap}. */
    public static void munmap(MemorySegment mapping) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) MUNMAP.invokeExact(capture, mapping, mapping.byteSize());
            if (rc < 0) {
                throw new NativeException("munmap(0x" + Long.toHexString(mapping.address()) + ", " + mapping.byteSize() + " bytes)",
                        Errno.get(capture));
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap", t);
        }
    }

    /** mlock(2): keeps the pages resident (fails with ENOMEM/EPERM past RLIMIT_MEMLOCK without CAP_IPC_LOCK). */
    public static void mlock(MemorySegment segment) {
        call(MLOCK, "mlock", segment, ". Raise the locked-memory limit (ulimit -l) or run with CAP_IPC_LOCK");
    }

    /** munlock(2). */
    public static void munlock(MemorySegment segment) {
        call(MUNLOCK, "munlock", segment, null);
    }

    /** madvise(2) with one MADV_* advice. */
    public static void madvise(MemorySegment segment, int advice) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) MADVISE.invokeExact(capture, segment, segment.byteSize(), advice);
            if (rc < 0) {
                throw new NativeException("madvise(0x" + Long.toHexString(segment.address()) + ", " + segment.byteSize()
                        + " bytes, advice " + advice + ")", Errno.get(capture));
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("madvise", t);
        }
    }

    /** msync(2) of a shared file mapping with MS_* flags. */
    public static void msync(MemorySegment segment, int flags) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) MSYNC.invokeExact(capture, segment, segment.byteSize(), flags);
            if (rc < 0) {
                throw new NativeException("msync(0x" + Long.toHexString(segment.address()) + ", " + segment.byteSize()
                        + " bytes)", Errno.get(capture));
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("msync", t);
        }
    }

    /** MAP_* flags as text for messages. */
    public static String describeFlags(int flags) {
        StringBuilder sb = new StringBuilder();
        int[] bits = {MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_LOCKED,
                MAP_NONBLOCK, MAP_HUGETLB, MAP_FIXED_NOREPLACE};
        String[] names = {"MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_NORESERVE", "MAP_POPULATE",
                "MAP_LOCKED", "MAP_NONBLOCK", "MAP_HUGETLB", "MAP_FIXED_NOREPLACE"};
        int rest = flags;
        int huge = (flags >>> MAP_HUGE_SHIFT) & 0x3f;
        rest &= ~(0x3f << MAP_HUGE_SHIFT);
        for (int i = 0; i < bits.length; i++) {
            if ((rest & bits[i]) == bits[i]) {
                sb.append(sb.isEmpty() ? "" : "|").append(names[i]);
                rest &= ~bits[i];
            }
        }
        if (huge != 0) {
            sb.append("|MAP_HUGE_").append(huge >= 30 ? (1L << (huge - 30)) + "GB" : (1L << (huge - 20)) + "MB");
        }
        if (rest != 0) {
            sb.append(sb.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(rest));
        }
        return sb.isEmpty() ? "0" : sb.toString();
    }

    private static String describeProt(int prot) {
        if (prot == PROT_NONE) {
            return "PROT_NONE";
        }
        StringBuilder sb = new StringBuilder();
        if ((prot & PROT_READ) != 0) sb.append("PROT_READ");
        if ((prot & PROT_WRITE) != 0) sb.append(sb.isEmpty() ? "" : "|").append("PROT_WRITE");
        if ((prot & PROT_EXEC) != 0) sb.append(sb.isEmpty() ? "" : "|").append("PROT_EXEC");
        return sb.toString();
    }

    private static String hint(int flags, int errno) {
        if ((flags & MAP_HUGETLB) != 0 && errno == Errno.ENOMEM) {
            return "No free huge pages: see HugePages_Free in /proc/meminfo and raise /proc/sys/vm/nr_hugepages";
        }
        if ((flags & MAP_LOCKED) != 0 && (errno == Errno.EAGAIN || errno == Errno.EPERM)) {
            return "Locked-memory limit reached: raise ulimit -l or run with CAP_IPC_LOCK";
        }
        return null;
    }

    private static void call(MethodHandle h, String name, MemorySegment segment, String hint) {
        try {
            MemorySegment capture = Errno.threadCapture();
            int rc = (int) h.invokeExact(capture, segment, segment.byteSize());
            if (rc < 0) {
                throw new NativeException(name + "(0x" + Long.toHexString(segment.address()) + ", " + segment.byteSize()
                        + " bytes)", Errno.get(capture), hint);
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name, t);
        }
    }

    private static void munmapQuietly(long address, long length) {
        try {
            int rc = (int) MUNMAP.invokeExact(Errno.threadCapture(), MemorySegment.ofAddress(address), length);
            if (rc < 0) {
                System.getLogger(Mman.class.getName()).log(System.Logger.Level.WARNING,
                        "munmap(0x{0}, {1} bytes) failed on arena close", Long.toHexString(address), Long.toString(length));
            }
        } catch (Throwable t) {
            throw new IllegalStateException("munmap", t);
        }
    }
}
