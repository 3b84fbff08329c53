package io.ustor.bdev.aio;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.env.Posix;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The aio bdev against real files in the module's target directory, on two reactors, with both engines. */
class AioBdevTest {
    static final long WAIT_MS = 20_000;
    static ReactorGroup group;
    static final Arena ARENA = Arena.ofShared();
    Path dir;
    BdevRegistry registry;
    final List<BdevDesc> descs = new ArrayList<>();

    @BeforeAll
    static void start() {
        group = ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE));
    }

    @AfterAll
    static void stop() {
        group.close();
    }

    @BeforeEach
    void setUp() throws IOException {
        Path target = Path.of("target").toAbsolutePath();
        Files.createDirectories(target);
        dir = Files.createTempDirectory(target, "aio");
        registry = new BdevRegistry(group);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (BdevDesc d : descs) {
            d.close();
        }
        registry.unregisterAll().get(WAIT_MS, TimeUnit.MILLISECONDS);
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    // ---- helpers ----

    Path file(String name, long bytes) throws IOException {
        Path p = dir.resolve(name);
        try (var f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    static <T> T on(Reactor r, Callable<T> task) throws Exception {
        try {
            return r.call(task).get(WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    /** How one io ended. */
    record Result(boolean success, BdevIoStatus status, int errno, boolean onSubmittingReactor) {
    }

    static final class Done implements BdevIoCallback {
        final CompletableFuture<Result> future = new CompletableFuture<>();
        final Reactor reactor;

        Done(Reactor reactor) {
            this.reactor = reactor;
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object cbArg) {
            future.complete(new Result(success, io.status(), io.errno(), reactor.isCurrent()));
        }
    }

    /** Submits on {@code r} and waits for the completion, which must come on {@code r}. */
    static Result io(Reactor r, Function<Done, Integer> op) throws Exception {
        Done d = new Done(r);
        int rc = on(r, () -> op.apply(d));
        assertEquals(0, rc, "submit");
        Result res = d.future.get(WAIT_MS, TimeUnit.MILLISECONDS);
        assertTrue(res.onSubmittingReactor(), "completion on the submitting reactor");
        return res;
    }

    BdevDesc open(Bdev b, boolean write) {
        registry.register(b);
        BdevDesc d = registry.open(b.name(), write, (t, x) -> {
        });
        descs.add(d);
        return d;
    }

    static MemorySegment pattern(long bytes, int seed) {
        MemorySegment s = ARENA.allocate(bytes, 4096);
        for (long j = 0; j < bytes; j += 8) {
            s.set(ValueLayout.JAVA_LONG, j, seed * 1_000_000_007L + j);
        }
        return s;
    }

    // ---- tests ----

    @ParameterizedTest
    @EnumSource(value = FileEngine.class, names = {"IO_URING", "LINUX_AIO"})
    void writesOnOneReactorReadBackOnTheOther(FileEngine engine) throws Exception {
        Path f = file("disk", 16L << 20);
        AioBdev b = AioBdev.create(new AioBdev.Options("Aio0", f.toString(), 0).withEngine(engine));
        assertEquals(engine, b.engine());
        assertTrue(b.directIo());
        assertEquals(512, b.blockSize());
        assertEquals((16L << 20) / 512, b.numBlocks());
        BdevDesc d = open(b, true);
        Reactor r0 = group.reactor(0), r1 = group.reactor(1);
        BdevChannel ch0 = on(r0, d::getIoChannel);
        BdevChannel ch1 = on(r1, d::getIoChannel);
        assertNotSame(ch0, ch1);
        int n = 48;
        long blocks = 16; // 8 KiB each
        MemorySegment[] written = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            written[i] = pattern(blocks * 512, i + 1);
            long off = i * 311L % (b.numBlocks() / blocks) * blocks;
            MemorySegment buf = written[i];
            Reactor r = (i & 1) == 0 ? r0 : r1;
            BdevChannel ch = (i & 1) == 0 ? ch0 : ch1;
            assertTrue(io(r, c -> d.write(ch, buf, off, blocks, c, null)).success(), "write " + i);
        }
        for (int i = 0; i < n; i++) {
            long off = i * 311L % (b.numBlocks() / blocks) * blocks;
            MemorySegment in = ARENA.allocate(blocks * 512, 4096);
            Reactor r = (i & 1) == 0 ? r1 : r0; // the other one
            BdevChannel ch = (i & 1) == 0 ? ch1 : ch0;
            assertTrue(io(r, c -> d.read(ch, in, off, blocks, c, null)).success(), "read " + i);
            assertEquals(-1, in.mismatch(written[i]), "block range of write " + i);
        }
        // Vectored: three pieces of 1, 2 and 1 KiB out; read back as one.
        MemorySegment data = pattern(4096, 99);
        MemorySegment[] out = {data.asSlice(0, 1024), data.asSlice(1024, 2048), data.asSlice(3072, 1024)};
        assertTrue(io(r0, c -> d.writev(ch0, out, 3, 100, 8, c, null)).success());
        MemorySegment back = ARENA.allocate(4096, 4096);
        assertTrue(io(r1, c -> d.read(ch1, back, 100, 8, c, null)).success());
        assertEquals(-1, back.mismatch(data));
        MemorySegment[] in = {ARENA.allocate(2048, 4096), ARENA.allocate(2048, 4096)};
        assertTrue(io(r0, c -> d.readv(ch0, in, 2, 100, 8, c, null)).success());
        assertEquals(-1, in[0].mismatch(data.asSlice(0, 2048)));
        assertEquals(-1, in[1].mismatch(data.asSlice(2048, 2048)));
        // The data is really in the file, at the right place.
        byte[] onDisk = Files.readAllBytes(f);
        assertEquals(-1, MemorySegment.ofArray(onDisk).asSlice(100 * 512, 4096).mismatch(data));
        on(r0, () -> {
            d.putIoChannel(ch0);
            return null;
        });
        on(r1, () -> {
            d.putIoChannel(ch1);
            return null;
        });
    }

    @ParameterizedTest
    @EnumSource(value = FileEngine.class, names = {"IO_URING", "LINUX_AIO"})
    void unmapAndWriteZeroesReadBackZeroesAndFlushSucceeds(FileEngine engine) throws Exception {
        Path f = file("disk", 4L << 20);
        AioBdev b = AioBdev.create(new AioBdev.Options("Aio1", f.toString(), 4096).withEngine(engine).withFallocate(true));
        assertTrue(b.supportsIoType(IoType.UNMAP));
        assertTrue(b.supportsIoType(IoType.WRITE_ZEROES));
        BdevDesc d = open(b, true);
        Reactor r = group.reactor(1);
        BdevChannel ch = on(r, d::getIoChannel);
        MemorySegment data = pattern(16 * 4096, 7);
        assertTrue(io(r, c -> d.write(ch, data, 0, 16, c, null)).success());
        assertTrue(io(r, c -> d.flush(ch, 0, b.numBlocks(), c, null)).success());
        assertTrue(io(r, c -> d.unmap(ch, 2, 3, c, null)).success());
        assertTrue(io(r, c -> d.writeZeroes(ch, 9, 2, c, null)).success());
        MemorySegment in = ARENA.allocate(16 * 4096, 4096);
        assertTrue(io(r, c -> d.read(ch, in, 0, 16, c, null)).success());
        MemorySegment zero = ARENA.allocate(4096, 4096);
        for (int blk = 0; blk < 16; blk++) {
            MemorySegment got = in.asSlice(blk * 4096L, 4096);
            boolean zeroed = (blk >= 2 && blk < 5) || blk == 9 || blk == 10;
            assertEquals(-1, got.mismatch(zeroed ? zero : data.asSlice(blk * 4096L, 4096)), "block " + blk);
        }
        assertEquals(4L << 20, Files.size(f), "unmap keeps the file size");
        assertTrue(io(r, c -> d.reset(ch, c, null)).success());
        on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
    }

    @Test
    void withoutFallocateUnmapIsUnsupportedAndWriteZeroesIsEmulated() throws Exception {
        Path f = file("disk", 1L << 20);
        AioBdev b = AioBdev.create("Aio2", f.toString(), 0);
        assertFalse(b.supportsIoType(IoType.UNMAP));
        assertFalse(b.supportsIoType(IoType.WRITE_ZEROES));
        BdevDesc d = open(b, true);
        Reactor r = group.reactor(0);
        BdevChannel ch = on(r, d::getIoChannel);
        MemorySegment data = pattern(8 * 512, 3);
        assertTrue(io(r, c -> d.write(ch, data, 0, 8, c, null)).success());
        assertEquals(-Errno.EOPNOTSUPP, (int) on(r, () -> d.unmap(ch, 0, 1, (io, ok, a) -> {
        }, null)));
        assertTrue(io(r, c -> d.writeZeroes(ch, 2, 2, c, null)).success());
        MemorySegment in = ARENA.allocate(8 * 512, 4096);
        assertTrue(io(r, c -> d.read(ch, in, 0, 8, c, null)).success());
        assertEquals(-1, in.asSlice(0, 1024).mismatch(data.asSlice(0, 1024)));
        assertEquals(-1, in.asSlice(1024, 1024).mismatch(ARENA.allocate(1024)));
        on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
    }

    @Test
    void misalignedBuffersAreBouncedAndCompareWorks() throws Exception {
        Path f = file("disk", 1L << 20);
        AioBdev b = AioBdev.create(new AioBdev.Options("Aio3", f.toString(), 4096).withEngine(FileEngine.IO_URING));
        BdevDesc d = open(b, true);
        Reactor r = group.reactor(0);
        BdevChannel ch = on(r, d::getIoChannel);
        // 8 KiB at an odd address, and an iovec split at an odd length.
        MemorySegment raw = ARENA.allocate(3 * 4096, 4096);
        MemorySegment odd = raw.asSlice(3, 2 * 4096);
        MemorySegment src = pattern(2 * 4096, 11);
        MemorySegment.copy(src, 0, odd, 0, src.byteSize());
        assertTrue(io(r, c -> d.write(ch, odd, 4, 2, c, null)).success());
        assertEquals(b.memoryAlignment() > 1 ? 1 : 0, b.bouncedIos(), "O_DIRECT alignment " + b.memoryAlignment());
        MemorySegment back = ARENA.allocate(2 * 4096, 4096);
        assertTrue(io(r, c -> d.read(ch, back, 4, 2, c, null)).success());
        assertEquals(-1, back.mismatch(src));
        MemorySegment[] pieces = {ARENA.allocate(1000, 8), ARENA.allocate(2 * 4096 - 1000, 8).asSlice(0)};
        assertTrue(io(r, c -> d.readv(ch, pieces, 2, 4, 2, c, null)).success());
        assertEquals(-1, pieces[0].mismatch(src.asSlice(0, 1000)));
        assertEquals(-1, pieces[1].mismatch(src.asSlice(1000, 2 * 4096 - 1000)));
        // Many pieces (more than a channel's iovecs) bounce too.
        MemorySegment[] many = new MemorySegment[64];
        for (int i = 0; i < many.length; i++) {
            many[i] = ARENA.allocate(128, 128);
        }
        assertTrue(io(r, c -> d.readv(ch, many, 64, 4, 2, c, null)).success());
        assertEquals(-1, many[63].mismatch(src.asSlice(63 * 128, 128)));
        long bouncedBefore = b.bouncedIos();
        assertTrue(io(r, c -> d.read(ch, back, 4, 2, c, null)).success());
        assertEquals(bouncedBefore, b.bouncedIos(), "aligned buffers go straight to the kernel");
        assertTrue(io(r, c -> d.compare(ch, src, 4, 2, c, null)).success(), "same data");
        Result differs = io(r, c -> d.compare(ch, pattern(2 * 4096, 12), 4, 2, c, null));
        assertFalse(differs.success());
        assertEquals(BdevIoStatus.MISCOMPARE, differs.status());
        on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
    }

    @Test
    void aMissingFileFailsNamingTheFileAndErrno() throws Exception {
        String path = dir.resolve("no-such-file").toString();
        BdevException e = assertThrows(BdevException.class, () -> AioBdev.create("Aio4", path, 0));
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().contains(path), e.getMessage());
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertTrue(e.getMessage().contains("Aio4"), e.getMessage());
        BdevException dirErr = assertThrows(BdevException.class, () -> AioBdev.create("Aio4", dir.toString(), 0));
        assertTrue(dirErr.getMessage().contains(dir.toString()), dirErr.getMessage());
        Path tiny = file("tiny", 100);
        BdevException small = assertThrows(BdevException.class, () -> AioBdev.create("Aio4", tiny.toString(), 0));
        assertTrue(small.getMessage().contains("smaller than one"), small.getMessage());
        Path ok = file("ok", 1 << 20);
        assertThrows(BdevException.class, () -> AioBdev.create("Aio4", ok.toString(), 1000));
        assertThrows(BdevException.class, () -> AioBdev.create("Aio4", ok.toString(), 256));
    }

    @Test
    void readonlyReadsButRefusesWrites() throws Exception {
        Path f = file("disk", 1L << 20);
        byte[] content = new byte[1 << 20];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 13);
        }
        Files.write(f, content);
        f.toFile().setReadOnly();
        AioBdev b = AioBdev.create(new AioBdev.Options("Aio5", f.toString(), 0).withReadonly(true).withFallocate(true));
        assertFalse(b.supportsIoType(IoType.WRITE));
        assertFalse(b.supportsIoType(IoType.UNMAP));
        BdevDesc d = open(b, false);
        Reactor r = group.reactor(1);
        BdevChannel ch = on(r, d::getIoChannel);
        MemorySegment in = ARENA.allocate(4096, 4096);
        assertTrue(io(r, c -> d.read(ch, in, 8, 8, c, null)).success());
        assertEquals(-1, in.mismatch(MemorySegment.ofArray(content).asSlice(4096, 4096)));
        int rc = on(r, () -> d.write(ch, in, 0, 8, (io, ok, a) -> {
        }, null));
        assertNotEquals(0, rc, "a write on a read-only bdev is refused");
        assertEquals(Map.of("aio", Map.of("filename", f.toString(), "block_size_override", false, "readonly", true,
                "fallocate", true)), b.driverSpecific());
        on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
    }

    @Test
    void describesItselfLikeSpdk() throws Exception {
        Path f = file("disk", 3L << 20);
        AioBdev b = AioBdev.create("Aio6", f.toString(), 4096);
        registry.register(b);
        Map<String, Object> m = b.describe();
        assertEquals("AIO disk", m.get("product_name"));
        assertEquals(4096, m.get("block_size"));
        assertEquals(768L, m.get("num_blocks"));
        assertEquals(Map.of("aio", Map.of("filename", f.toString(), "block_size_override", true, "readonly", false,
                "fallocate", false)), m.get("driver_specific"));
        assertEquals("aio", b.moduleName());
        assertTrue(b.writeCache());
    }

    @Test
    void theSystemPropertyForcesLinuxAio() throws Exception {
        Path f = file("disk", 1L << 20);
        String old = System.getProperty(FileEngine.PROPERTY);
        System.setProperty(FileEngine.PROPERTY, "aio");
        AioBdev b;
        try {
            b = AioBdev.create("Aio7", f.toString(), 0);
        } finally {
            if (old == null) {
                System.clearProperty(FileEngine.PROPERTY);
            } else {
                System.setProperty(FileEngine.PROPERTY, old);
            }
        }
        assertEquals(FileEngine.LINUX_AIO, b.engine());
        BdevDesc d = open(b, true);
        Reactor r = group.reactor(0);
        BdevChannel ch = on(r, d::getIoChannel);
        MemorySegment data = pattern(4096, 5);
        assertTrue(io(r, c -> d.write(ch, data, 0, 8, c, null)).success());
        MemorySegment in = ARENA.allocate(4096, 4096);
        assertTrue(io(r, c -> d.read(ch, in, 0, 8, c, null)).success());
        assertEquals(-1, in.mismatch(data));
        assertEquals(FileEngine.AUTO, FileEngine.parse("auto"));
        assertEquals(FileEngine.IO_URING, FileEngine.parse("uring"));
        assertThrows(IllegalArgumentException.class, () -> FileEngine.parse("spdk"));
        on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
    }

    @Test
    void onTmpfsItUsesODirectWhereTheKernelHasItAndBufferedIoWhereNot() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.getFileStore(shm).type().equals("tmpfs"), "needs /dev/shm on tmpfs");
        Path f = Files.createTempFile(shm, "ustor-aio", ".img");
        try {
            Files.write(f, new byte[1 << 20]);
            // tmpfs has O_DIRECT since Linux 6.6; before that open() refuses it with EINVAL.
            boolean kernelHasDirect;
            try {
                Posix.close(Posix.open(f.toString(), Posix.O_RDWR | Posix.O_DIRECT));
                kernelHasDirect = true;
            } catch (io.ustor.env.NativeException e) {
                assertEquals(Errno.EINVAL, e.errno());
                kernelHasDirect = false;
            }
            AioBdev b = AioBdev.create("Aio8", f.toString(), 0);
            assertEquals(kernelHasDirect, b.directIo());
            BdevDesc d = open(b, true);
            Reactor r = group.reactor(1);
            BdevChannel ch = on(r, d::getIoChannel);
            MemorySegment data = pattern(4096, 8);
            MemorySegment odd = ARENA.allocate(4096 + 1).asSlice(1); // bounced with O_DIRECT, taken as is without
            MemorySegment.copy(data, 0, odd, 0, 4096);
            assertTrue(io(r, c -> d.write(ch, odd, 16, 8, c, null)).success());
            MemorySegment in = ARENA.allocate(4096, 4096);
            assertTrue(io(r, c -> d.read(ch, in, 16, 8, c, null)).success());
            assertEquals(-1, in.mismatch(data));
            on(r, () -> {
                d.putIoChannel(ch);
                return null;
            });
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void aFullChannelQueuesAndFinishesEverything() throws Exception {
        Path f = file("disk", 8L << 20);
        AioBdev b = AioBdev.create("Aio9", f.toString(), 4096);
        BdevDesc d = open(b, true);
        Reactor r = group.reactor(0);
        BdevChannel ch = on(r, d::getIoChannel);
        int n = 3 * AioChannel.DEPTH; // more than a channel has slots: the rest get NOMEM and are resubmitted
        MemorySegment bufs = ARENA.allocate((long) n * 4096, 4096);
        for (int i = 0; i < n; i++) {
            bufs.asSlice((long) i * 4096, 4096).fill((byte) i);
        }
        CompletableFuture<Long> all = new CompletableFuture<>();
        long[] counts = new long[2];
        BdevIoCallback cb = (io, ok, arg) -> {
            counts[ok ? 0 : 1]++;
            if (counts[0] + counts[1] == n) {
                all.complete(counts[1]);
            }
        };
        int submitted = on(r, () -> {
            int ok = 0;
            for (int i = 0; i < n; i++) {
                if (d.write(ch, bufs.asSlice((long) i * 4096, 4096), i, 1, cb, null) == 0) {
                    ok++;
                }
            }
            return ok;
        });
        assertEquals(n, submitted);
        assertEquals(0L, all.get(WAIT_MS, TimeUnit.MILLISECONDS), "failed writes");
        MemorySegment in = ARENA.allocate((long) n * 4096, 4096);
        assertTrue(io(r, c -> d.read(ch, in, 0, n, c, null)).success());
        assertEquals(-1, in.mismatch(bufs));
        on(r, () -> {
            d.putIoChannel(ch);
            return null;
        });
    }
}
