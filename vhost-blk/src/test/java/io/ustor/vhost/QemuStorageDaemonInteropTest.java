package io.ustor.vhost;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.testbed.QemuStorageDaemon;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/** ustor's vhost-user client against a real vhost-user-blk back end: qemu-storage-daemon exporting a raw file. */
class QemuStorageDaemonInteropTest {
    @TempDir
    Path dir;

    @Test
    void clientReadsAndWritesThroughQemuStorageDaemon() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-storage-daemon")),
                "qemu-storage-daemon is not installed (apt-get install qemu-system-x86 qemu-utils)");
        Path image = dir.resolve("disk.img");
        byte[] initial = new byte[8 << 20];
        new Random(42).nextBytes(initial);
        Files.write(image, initial);
        try (QemuStorageDaemon qsd = QemuStorageDaemon.vhostUserBlk(image, dir.resolve("qsd.sock"), 2);
             ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0,1]"),
                     ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
             Arena arena = Arena.ofShared()) {
            BdevRegistry bdevs = new BdevRegistry(group);
            // Allocated before attach, so they lie in DMA memory the client shares (when it is on hugetlbfs).
            io.ustor.env.DmaMemory dma = io.ustor.env.DmaMemory.get();
            io.ustor.env.DmaBuffer out = dma.allocate(64 * 1024), in = dma.allocate(64 * 1024);
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioQsd", qsd.socket(), 2, 128);
            bdevs.register(v);
            assertEquals(512, v.blockSize());
            assertEquals((8 << 20) / 512, v.numBlocks());
            assertEquals(2, v.client().queueCount());
            BdevDesc d = bdevs.open("VirtioQsd", true, (t, x) -> { });
            try {
                // What the file holds reads back through the device.
                MemorySegment buf = arena.allocate(256 * 1024, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(0), d, buf, 1024, 512));
                assertEquals(-1, buf.mismatch(MemorySegment.ofArray(initial).asSlice(1024 * 512L, 256 * 1024)));
                // A write through the device lands in the file, and reads back on the other queue.
                MemorySegment data = arena.allocate(64 * 1024, 4096);
                byte[] b = new byte[64 * 1024];
                new Random(7).nextBytes(b);
                MemorySegment.copy(b, 0, data, JAVA_BYTE, 0, b.length);
                assertEquals(0, BlkHarness.write(group.reactor(1), d, data, 4096, 128));
                assertEquals(0, BlkHarness.run(group.reactor(1), d, (dd, ch, cb) -> dd.flush(ch, 0, v.numBlocks(), cb, null)));
                MemorySegment back = arena.allocate(64 * 1024, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(1), d, back, 4096, 128));
                assertEquals(-1, data.mismatch(back));
                byte[] file = Files.readAllBytes(image);
                assertArrayEquals(b, java.util.Arrays.copyOfRange(file, 4096 * 512, 4096 * 512 + b.length));
                // Buffers in shared DMA memory (qemu-storage-daemon mapped the hugetlbfs page files): no bounce copy.
                if (v.client().sharedDmaRegions() > 0) {
                    io.ustor.reactor.Reactor r = group.reactor(0);
                    long direct0 = r.call(() -> v.client().ring(0).directRequests()).get();
                    new Random(9).nextBytes(b);
                    MemorySegment.copy(b, 0, out.segment(), JAVA_BYTE, 0, b.length);
                    assertEquals(0, BlkHarness.write(r, d, out.segment(), 8192, 128));
                    assertEquals(0, BlkHarness.read(r, d, in.segment(), 8192, 128));
                    assertEquals(-1, out.segment().mismatch(in.segment()));
                    assertArrayEquals(b, java.util.Arrays.copyOfRange(Files.readAllBytes(image), 8192 * 512,
                            8192 * 512 + b.length));
                    assertEquals(2, r.call(() -> v.client().ring(0).directRequests()).get() - direct0);
                }
                if (v.supportsIoType(io.ustor.bdev.IoType.WRITE_ZEROES)) {
                    assertEquals(0, BlkHarness.run(group.reactor(0), d, (dd, ch, cb) -> dd.writeZeroes(ch, 4096, 8, cb, null)));
                    assertEquals(0, BlkHarness.read(group.reactor(0), d, back, 4096, 8));
                    assertEquals(-1, back.asSlice(0, 4096).mismatch(arena.allocate(4096)));
                }
            } finally {
                d.close();
                bdevs.unregister("VirtioQsd").join();
                out.free();
                in.free();
            }
            assertTrue(qsd.isAlive(), qsd.log());
        }
    }
}
