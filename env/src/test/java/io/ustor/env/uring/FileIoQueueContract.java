package io.ustor.env.uring;

import io.ustor.env.Errno;
import io.ustor.env.Posix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What every {@link FileIoQueue} must do, against real files opened with O_DIRECT in the module's target directory
 * (a real file system; tmpfs refuses O_DIRECT). Subclasses say which engine to open.
 */
public abstract class FileIoQueueContract {
    protected static final int BLOCK = 4096;

    protected Arena arena;
    protected Path dir;
    protected Path file;
    protected int fd;
    protected FileIoQueue queue;
    protected final Recorder recorder = new Recorder();

    /** A queue of {@code depth} operations with up to {@code maxIovs} iovecs each. */
    protected abstract FileIoQueue open(int depth, int maxIovs);

    /** Collects completions in order. */
    protected static final class Recorder implements CompletionHandler {
        final List<long[]> seen = new ArrayList<>();

        @Override
        public void onCompletion(long userData, int result, int flags) {
            seen.add(new long[]{userData, result});
        }

        long result(long userData) {
            for (long[] s : seen) {
                if (s[0] == userData) {
                    return s[1];
                }
            }
            throw new AssertionError("no completion for user data " + userData + " in " + seen.size());
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        arena = Arena.ofShared();
        Path target = Path.of("target");
        Files.createDirectories(target);
        dir = Files.createTempDirectory(target.toAbsolutePath(), "fileio");
        file = dir.resolve("data");
        fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CREAT | Posix.O_DIRECT | Posix.O_CLOEXEC);
        Posix.ftruncate(fd, 16L << 20);
        queue = open(64, 8);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (queue != null) {
            queue.close();
        }
        Posix.closeRaw(fd);
        arena.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    protected MemorySegment aligned(long size) {
        return arena.allocate(size, BLOCK);
    }

    protected static void fill(MemorySegment s, int seed) {
        for (long i = 0; i < s.byteSize(); i++) {
            s.set(JAVA_BYTE, i, (byte) (seed * 31 + i * 7));
        }
    }

    /** Submits and waits for everything outstanding. */
    protected void drainAll() {
        int want = queue.outstanding();
        int got = queue.reapWait(recorder, want);
        assertEquals(want, got, "completions");
    }

    /** Polls with reap() only (no blocking wait) until {@code count} completions arrived; guards against a hang. */
    protected void pollUntil(int count) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (recorder.seen.size() < count) {
            int rc = queue.reap(recorder, 1024);
            if (rc < 0) {
                throw new AssertionError("reap failed: " + rc);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + recorder.seen.size() + " of " + count + " completions by polling");
            }
        }
    }

    @Test
    void writeThenReadBackAtAnOffset() {
        MemorySegment out = aligned(BLOCK * 2);
        fill(out, 1);
        assertTrue(queue.prepWrite(fd, out.address(), BLOCK * 2, 3 * BLOCK, 11) >= 0);
        assertEquals(1, queue.submit());
        pollUntil(1);
        assertEquals(BLOCK * 2, recorder.result(11));
        MemorySegment in = aligned(BLOCK * 2);
        assertTrue(queue.prepRead(fd, in.address(), BLOCK * 2, 3 * BLOCK, 12) >= 0);
        pollUntil(2); // reap submits by itself
        assertEquals(BLOCK * 2, recorder.result(12));
        assertArrayEquals(out.toArray(JAVA_BYTE), in.toArray(JAVA_BYTE));
        assertEquals(0, queue.outstanding());
    }

    @Test
    void vectoredWriteAndReadScatterAcrossIovecs() {
        MemorySegment[] out = {aligned(BLOCK), aligned(2 * BLOCK), aligned(BLOCK)};
        for (int i = 0; i < out.length; i++) {
            fill(out[i], 10 + i);
        }
        assertTrue(queue.prepWritev(fd, out, 3, 8 * BLOCK, 1) >= 0);
        drainAll();
        assertEquals(4 * BLOCK, recorder.result(1));
        // Read back with a different split: 2 blocks, 2 blocks.
        MemorySegment[] in = {aligned(2 * BLOCK), aligned(2 * BLOCK)};
        assertTrue(queue.prepReadv(fd, in, 2, 8 * BLOCK, 2) >= 0);
        drainAll();
        assertEquals(4 * BLOCK, recorder.result(2));
        byte[] expected = new byte[4 * BLOCK];
        int p = 0;
        for (MemorySegment s : out) {
            byte[] b = s.toArray(JAVA_BYTE);
            System.arraycopy(b, 0, expected, p, b.length);
            p += b.length;
        }
        byte[] actual = new byte[4 * BLOCK];
        System.arraycopy(in[0].toArray(JAVA_BYTE), 0, actual, 0, 2 * BLOCK);
        System.arraycopy(in[1].toArray(JAVA_BYTE), 0, actual, 2 * BLOCK, 2 * BLOCK);
        assertArrayEquals(expected, actual);
    }

    @Test
    void vectoredFromACallerOwnedIovecArray() {
        MemorySegment data = aligned(4 * BLOCK);
        fill(data, 21);
        // Two pieces that are not whole segments: blocks 1..2, then block 0 (so the order shows).
        MemorySegment iov = arena.allocate(32, 8);
        iov.set(JAVA_LONG, 0, data.address() + BLOCK);
        iov.set(JAVA_LONG, 8, 2 * BLOCK);
        iov.set(JAVA_LONG, 16, data.address());
        iov.set(JAVA_LONG, 24, BLOCK);
        assertTrue(queue.prepWritev(fd, iov.address(), 2, 20 * BLOCK, 1) >= 0);
        drainAll();
        assertEquals(3 * BLOCK, recorder.result(1));
        MemorySegment back = aligned(3 * BLOCK);
        MemorySegment iov2 = arena.allocate(16, 8);
        iov2.set(JAVA_LONG, 0, back.address());
        iov2.set(JAVA_LONG, 8, 3 * BLOCK);
        assertTrue(queue.prepReadv(fd, iov2.address(), 1, 20 * BLOCK, 2) >= 0);
        drainAll();
        assertEquals(3 * BLOCK, recorder.result(2));
        assertEquals(-1, back.asSlice(0, 2 * BLOCK).mismatch(data.asSlice(BLOCK, 2 * BLOCK)));
        assertEquals(-1, back.asSlice(2 * BLOCK, BLOCK).mismatch(data.asSlice(0, BLOCK)));
        assertEquals(-Errno.EINVAL, queue.prepReadv(fd, iov2.address(), 0, 0, 3));
    }

    @Test
    void aBatchOfManyOperationsGoesInOneSubmit() {
        int n = queue.depth();
        MemorySegment bufs = aligned((long) n * BLOCK);
        for (int i = 0; i < n; i++) {
            MemorySegment b = bufs.asSlice((long) i * BLOCK, BLOCK);
            b.fill((byte) i);
            assertTrue(queue.prepWrite(fd, b.address(), BLOCK, (long) i * BLOCK, 1000 + i) >= 0, "prep " + i);
        }
        assertEquals(n, queue.unsubmitted());
        assertEquals(n, queue.submit(), "one submit takes the whole batch");
        assertEquals(0, queue.unsubmitted());
        pollUntil(n);
        for (int i = 0; i < n; i++) {
            assertEquals(BLOCK, recorder.result(1000 + i));
        }
        MemorySegment in = aligned((long) n * BLOCK);
        assertTrue(queue.prepRead(fd, in.address(), n * BLOCK, 0, 7) >= 0);
        drainAll();
        for (int i = 0; i < n; i++) {
            assertEquals((byte) i, in.get(JAVA_BYTE, (long) i * BLOCK + 100));
        }
    }

    @Test
    void fsyncAndFdatasyncComplete() {
        MemorySegment out = aligned(BLOCK);
        fill(out, 3);
        queue.prepWrite(fd, out.address(), BLOCK, 0, 1);
        drainAll();
        assertTrue(queue.prepFsync(fd, false, 2) >= 0);
        assertTrue(queue.prepFsync(fd, true, 3) >= 0);
        drainAll();
        assertEquals(0, recorder.result(2));
        assertEquals(0, recorder.result(3));
    }

    @Test
    void punchHoleReadsBackZeroesAndZeroRangeToo() {
        MemorySegment out = aligned(8 * BLOCK);
        fill(out, 4);
        queue.prepWrite(fd, out.address(), 8 * BLOCK, 0, 1);
        drainAll();
        assertTrue(queue.prepFallocate(fd, Posix.FALLOC_FL_PUNCH_HOLE | Posix.FALLOC_FL_KEEP_SIZE, BLOCK, 2 * BLOCK, 2) >= 0);
        assertTrue(queue.prepFallocate(fd, Posix.FALLOC_FL_ZERO_RANGE | Posix.FALLOC_FL_KEEP_SIZE, 5 * BLOCK, BLOCK, 3) >= 0);
        drainAll();
        assertEquals(0, recorder.result(2));
        assertEquals(0, recorder.result(3));
        MemorySegment in = aligned(8 * BLOCK);
        queue.prepRead(fd, in.address(), 8 * BLOCK, 0, 4);
        drainAll();
        for (int b = 0; b < 8; b++) {
            boolean zero = b == 1 || b == 2 || b == 5;
            MemorySegment got = in.asSlice((long) b * BLOCK, BLOCK);
            MemorySegment want = out.asSlice((long) b * BLOCK, BLOCK);
            if (zero) {
                assertEquals(-1, got.mismatch(aligned(BLOCK)), "block " + b + " reads back zeroes");
            } else {
                assertEquals(-1, got.mismatch(want), "block " + b + " keeps its data");
            }
        }
        assertEquals(16L << 20, Posix.size(fd), "KEEP_SIZE");
    }

    @Test
    void errorsArriveAsNegativeResults() {
        MemorySegment buf = aligned(BLOCK);
        int ro = Posix.open(file.toString(), Posix.O_RDONLY | Posix.O_DIRECT);
        try {
            assertTrue(queue.prepRead(12345, buf.address(), BLOCK, 0, 1) >= 0);     // not an open fd
            assertTrue(queue.prepWrite(ro, buf.address(), BLOCK, 0, 2) >= 0);       // read-only fd
            assertTrue(queue.prepRead(fd, buf.address(), BLOCK, -8 * BLOCK, 3) >= 0); // negative offset
            assertTrue(queue.prepRead(fd, buf.address(), BLOCK, 0, 4) >= 0);        // fine, in the same batch
            drainAll();
        } finally {
            Posix.close(ro);
        }
        assertEquals(-Errno.EBADF, recorder.result(1));
        assertEquals(-Errno.EBADF, recorder.result(2));
        assertEquals(-Errno.EINVAL, recorder.result(3));
        assertEquals(BLOCK, recorder.result(4));
        assertEquals(0, queue.outstanding());
    }

    @Test
    void aFullQueueRefusesWithEagainUntilReaped() {
        int depth = queue.depth();
        MemorySegment buf = aligned(BLOCK);
        int accepted = 0;
        while (queue.prepRead(fd, buf.address(), BLOCK, 0, accepted) >= 0) {
            accepted++;
            if (accepted > 100_000) {
                throw new AssertionError("queue never filled");
            }
        }
        assertEquals(depth, accepted, "accepts exactly its depth");
        assertEquals(-Errno.EAGAIN, queue.prepNop(99));
        assertEquals(-Errno.EAGAIN, queue.prepFsync(fd, true, 99));
        queue.submit();
        assertEquals(-Errno.EAGAIN, queue.prepNop(99), "submitted but unreaped operations still count");
        drainAll();
        assertEquals(depth, recorder.seen.size());
        assertTrue(queue.prepNop(100) >= 0, "room again after reaping");
        drainAll();
        assertEquals(0, recorder.result(100));
    }

    @Test
    void badVectorsAreRefusedWithoutTakingASlot() {
        MemorySegment[] many = new MemorySegment[queue.maxIovs() + 1];
        for (int i = 0; i < many.length; i++) {
            many[i] = aligned(BLOCK);
        }
        assertEquals(-Errno.EINVAL, queue.prepReadv(fd, many, many.length, 0, 1));
        MemorySegment[] heap = {MemorySegment.ofArray(new byte[BLOCK])};
        assertEquals(-Errno.EINVAL, queue.prepWritev(fd, heap, 1, 0, 2));
        assertEquals(0, queue.outstanding());
        assertEquals(0, queue.unsubmitted());
    }

    @Test
    void nopCompletesWithZero() {
        assertTrue(queue.prepNop(42) >= 0);
        pollUntil(1);
        assertEquals(0, recorder.result(42));
    }

    @Test
    void closeWaitsForOutstandingOperations() {
        MemorySegment buf = aligned(BLOCK);
        for (int i = 0; i < 8; i++) {
            queue.prepRead(fd, buf.address(), BLOCK, (long) i * BLOCK, i);
        }
        queue.submit();
        queue.close();
        queue.close(); // idempotent
        queue = null;
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Reads and writes through a reused handler: no per-operation garbage once warm. */
    static final class Counter implements CompletionHandler {
        long completions, bytes, errors;

        @Override
        public void onCompletion(long userData, int result, int flags) {
            completions++;
            if (result < 0) {
                errors++;
            } else {
                bytes += result;
            }
        }
    }

    @Test
    void hundredThousandOperationsAllocateNothingOnceWarm() {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled());
        int depth = 16;
        MemorySegment bufs = aligned((long) depth * BLOCK);
        MemorySegment[] iovs = {bufs.asSlice(0, BLOCK / 2), bufs.asSlice(BLOCK / 2, BLOCK / 2)};
        long base = bufs.address();
        Counter counter = new Counter();
        long tid = Thread.currentThread().threadId();
        // Rounds of 100k operations until one stays within the slack: the first ones warm the JIT. FFM downcalls
        // allocate until C2 has compiled them (interpreted and C1 code do), which on a busy machine takes a while.
        long[] allocated = new long[40];
        int round = 0;
        for (; round < allocated.length; round++) {
            long before = THREADS.getThreadAllocatedBytes(tid);
            long target = counter.completions + 100_000;
            long issued = 0;
            while (counter.completions < target) {
                while (queue.outstanding() < depth && issued < 100_000) {
                    int i = (int) (issued % depth);
                    long b = base + (long) i * BLOCK;
                    long off = (issued * 7 % 4096) * BLOCK;
                    int slot;
                    switch ((int) (issued & 3)) {
                        case 0 -> slot = queue.prepRead(fd, b, BLOCK, off, issued);
                        case 1 -> slot = queue.prepWrite(fd, b, BLOCK, off, issued);
                        case 2 -> slot = queue.prepReadv(fd, iovs, 2, off, issued);
                        default -> slot = queue.prepNop(issued);
                    }
                    if (slot < 0) {
                        break;
                    }
                    issued++;
                }
                queue.reap(counter, 64);
            }
            allocated[round] = THREADS.getThreadAllocatedBytes(tid) - before;
            if (allocated[round] < 64 * 1024) {
                break;
            }
        }
        assertEquals(0, counter.errors);
        assertTrue(round < allocated.length, "100k operations still allocate when warm: " + java.util.Arrays.toString(allocated));
    }
}
