package io.ustor.bdev.aio;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The aio bdev on a real block device: a loop device with 4 KiB logical sectors over a file (needs root and
 * losetup; skipped without them). Block size and size come from the device (BLKSSZGET, BLKGETSIZE64).
 */
class AioBdevBlockDeviceTest {
    Path image;
    String loop;

    @BeforeEach
    void attach() throws Exception {
        assumeTrue(Files.isWritable(Path.of("/dev/loop-control")), "needs root and /dev/loop-control");
        Path target = Path.of("target").toAbsolutePath();
        Files.createDirectories(target);
        image = Files.createTempFile(target, "loop", ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        Process p;
        try {
            p = new ProcessBuilder("losetup", "--find", "--show", "--sector-size", "4096", image.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no losetup: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assumeTrue(p.waitFor() == 0 && out.startsWith("/dev/loop"), "losetup failed: " + out);
        loop = out;
    }

    @AfterEach
    void detach() throws Exception {
        if (loop != null) {
            new ProcessBuilder("losetup", "-d", loop).inheritIO().start().waitFor();
        }
        if (image != null) {
            Files.deleteIfExists(image);
        }
    }

    @Test
    void takesGeometryFromTheDeviceAndMovesData() throws Exception {
        BdevException tooSmall = assertThrows(BdevException.class, () -> AioBdev.create("Loop0", loop, 512));
        assertTrue(tooSmall.getMessage().contains("logical block size 4096"), tooSmall.getMessage());

        AioBdev b = AioBdev.create(new AioBdev.Options("Loop0", loop, 0).withFallocate(true));
        assertTrue(b.isBlockDevice());
        assertEquals(4096, b.blockSize());
        assertEquals(2048, b.numBlocks());
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE));
             Arena arena = Arena.ofShared()) {
            BdevRegistry registry = new BdevRegistry(group);
            registry.register(b);
            BdevDesc d = registry.open("Loop0", true, (t, x) -> {
            });
            Reactor r = group.reactor(0);
            BdevChannel ch = r.call(d::getIoChannel).get(20, TimeUnit.SECONDS);
            MemorySegment data = arena.allocate(4 * 4096, 4096);
            for (long i = 0; i < data.byteSize(); i += 8) {
                data.set(ValueLayout.JAVA_LONG, i, i * 31 + 7);
            }
            assertEquals(0, run(r, cb -> d.write(ch, data, 100, 4, cb, null)));
            assertEquals(0, run(r, cb -> d.flush(ch, 0, b.numBlocks(), cb, null)));
            MemorySegment in = arena.allocate(4 * 4096, 4096);
            assertEquals(0, run(r, cb -> d.read(ch, in, 100, 4, cb, null)));
            assertEquals(-1, in.mismatch(data));
            assertEquals(0, run(r, cb -> d.unmap(ch, 101, 1, cb, null)));
            assertEquals(0, run(r, cb -> d.writeZeroes(ch, 103, 1, cb, null)));
            assertEquals(0, run(r, cb -> d.read(ch, in, 100, 4, cb, null)));
            MemorySegment zero = arena.allocate(4096, 4096);
            assertEquals(-1, in.asSlice(0, 4096).mismatch(data.asSlice(0, 4096)));
            assertEquals(-1, in.asSlice(4096, 4096).mismatch(zero));
            assertEquals(-1, in.asSlice(8192, 4096).mismatch(data.asSlice(8192, 4096)));
            assertEquals(-1, in.asSlice(12288, 4096).mismatch(zero));
            r.call(() -> {
                d.putIoChannel(ch);
                return null;
            }).get(20, TimeUnit.SECONDS);
            d.close();
            registry.unregisterAll().get(20, TimeUnit.SECONDS);
        }
        // The data went to the device, so it is in the image file behind it.
        byte[] img = Files.readAllBytes(image);
        assertEquals(31 * 8 + 7, MemorySegment.ofArray(img).get(ValueLayout.JAVA_LONG_UNALIGNED, 100 * 4096 + 8));
    }

    /** Submits on the reactor, waits; returns the io's errno (0 = success). */
    private static int run(Reactor r, java.util.function.Function<BdevIoCallback, Integer> op) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        BdevIoCallback cb = (BdevIo io, boolean ok, Object arg) -> done.complete(ok ? 0 : Math.max(1, io.errno()));
        assertEquals(0, (int) r.call(() -> op.apply(cb)).get(20, TimeUnit.SECONDS), "submit");
        return done.get(20, TimeUnit.SECONDS);
    }
}
