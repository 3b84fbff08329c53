package io.ustor.vhost;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.vhost.client.SharedMemory;
import io.ustor.vhost.client.VirtqueueDriver;
import io.ustor.vhost.virtio.Virtio;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Dirty logging for live migration, driven by ustor's vhost-user client as QEMU drives it (SET_LOG_BASE with a memfd,
 * SET_FEATURES with VHOST_F_LOG_ALL, SET_VRING_ADDR with VHOST_VRING_F_LOG on the running rings): while logging is
 * on, the pages the device writes (read data, status bytes, the ring's used entries) have their bits set, nothing
 * outside the guest's memory is marked; once off, nothing more is marked.
 */
class DirtyLogTest {
    @TempDir
    Path dir;
    ReactorGroup group;
    BdevRegistry bdevs;
    Arena arena;

    @BeforeEach
    void start() {
        group = ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        bdevs.register(MallocBdev.create("Malloc0", 8192, 512, null));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        bdevs.unregisterAll().join();
        group.close();
        arena.close();
    }

    private static boolean bit(MemorySegment log, long page) {
        return (log.get(JAVA_BYTE, page / 8) & (1 << (page % 8))) != 0;
    }

    private static long countBits(MemorySegment log, long fromPage, long toPage) {
        long n = 0;
        for (long p = fromPage; p < toPage; p++) {
            n += bit(log, p) ? 1 : 0;
        }
        return n;
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void deviceWritesAreLoggedWhileLoggingIsOn(boolean packed) throws Exception {
        try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.log", dir, "Malloc0")
                .withPackedRing(packed).withMaxQueues(1), bdevs)) {
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioLog", ctrl.options().socketPath(), 1, 16, 64 * 1024, 0);
            bdevs.register(v);
            assertEquals(packed, v.client().packed());
            BdevDesc d = bdevs.open("VirtioLog", true, (t, x) -> { });
            try {
                MemorySegment data = arena.allocate(64 * 1024, 4096);
                data.fill((byte) 0x3c);
                assertEquals(0, BlkHarness.write(group.reactor(0), d, data, 0, 128));

                SharedMemory sm = v.client().memory();
                long firstPage = sm.gpa(0) >>> 12, endPage = sm.gpa(sm.size()) >>> 12;
                MemorySegment log = v.client().startDirtyLog();
                assertEquals(0, countBits(log, 0, log.byteSize() * 8), "nothing logged before any I/O");

                MemorySegment back = arena.allocate(64 * 1024, 4096);
                assertEquals(0, BlkHarness.read(group.reactor(0), d, back, 0, 128));
                assertEquals(-1, data.mismatch(back));
                long inMemory = countBits(log, firstPage, endPage);
                assertEquals(inMemory, countBits(log, 0, log.byteSize() * 8), "no page outside guest memory logged");
                // 64 KiB of read data is 16 pages, plus the status byte's page and the used ring's.
                assertTrue(inMemory >= 18, inMemory + " pages logged");
                VirtqueueDriver ring = v.client().ring(0);
                long ringPage = sm.gpa(packed ? ring.descOffset() : ring.deviceAreaOffset()) >>> 12;
                assertTrue(bit(log, ringPage), "the page of the used entries is logged");
                if (!packed) {
                    // The split ring's descriptor table and available ring are the driver's writes, not the device's.
                    assertFalse(bit(log, sm.gpa(ring.descOffset()) >>> 12), "descriptor table page not logged");
                    assertFalse(bit(log, sm.gpa(ring.driverAreaOffset()) >>> 12), "available ring page not logged");
                }

                // A write makes the device write only status bytes (and used entries): the data pages stay clean.
                log.fill((byte) 0);
                assertEquals(0, BlkHarness.write(group.reactor(0), d, data, 256, 128));
                long afterWrite = countBits(log, firstPage, endPage);
                assertTrue(afterWrite >= 2 && afterWrite <= 3, afterWrite + " pages logged for a write");

                v.client().stopDirtyLog();
                log.fill((byte) 0);
                assertEquals(0, BlkHarness.read(group.reactor(0), d, back, 0, 128));
                assertEquals(0, countBits(log, 0, log.byteSize() * 8), "nothing logged once logging is off");

                // On again (as a second migration attempt would): logged again.
                v.client().startDirtyLog();
                assertEquals(0, BlkHarness.read(group.reactor(0), d, back, 0, 128));
                assertTrue(countBits(log, firstPage, endPage) >= 18);
            } finally {
                d.close();
            }
            bdevs.unregister("VirtioLog").join();
        }
    }
}
