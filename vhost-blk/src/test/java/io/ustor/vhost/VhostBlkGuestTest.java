package io.ustor.vhost;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.testbed.Guest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * QEMU's vhost-user-blk-pci device (guest RAM in a shared memfd, TCG guest) against ustor's vhost-user-blk server:
 * a 2-queue read-write disk on a malloc bdev and a read-only one. The guest's Linux virtio-blk driver and fio are the
 * front end's client.
 */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VhostBlkGuestTest {
    private static final long BLOCKS = 131072; // 64 MiB of 512-byte blocks
    @TempDir
    static Path dir;
    static ReactorGroup group;
    static BdevRegistry bdevs;
    static VhostBlkController rw, ro;
    static Guest guest;

    @BeforeAll
    static void boot() {
        group = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        bdevs.register(MallocBdev.create("Malloc0", BLOCKS, 512, null));
        bdevs.register(MallocBdev.create("Malloc1", 2048, 4096, null));
        rw = VhostBlkController.create(VhostBlkOptions.of("vhost.0", dir, "Malloc0").withMaxQueues(2), bdevs);
        ro = VhostBlkController.create(VhostBlkOptions.of("vhost.ro", dir, "Malloc1").withReadOnly(true).withMaxQueues(1), bdevs);
        guest = Guest.builder().name("ustor-vhost-blk").vhostUserBlk(rw.options().socketPath(), 2)
                .vhostUserBlk(ro.options().socketPath(), 1).start();
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
        if (rw != null) {
            rw.close();
        }
        if (ro != null) {
            ro.close();
        }
        if (bdevs != null) {
            bdevs.unregisterAll().join();
        }
        if (group != null) {
            group.close();
        }
    }

    @Test
    @Order(1)
    void guestSeesTheDisksWithTheirSizesQueuesAndSerial() {
        String out = guest.exec("""
                echo "vdb size=$(blockdev --getsize64 /dev/vdb) lbs=$(blockdev --getss /dev/vdb) queues=$(ls /sys/block/vdb/mq | wc -l) ro=$(cat /sys/block/vdb/ro) serial=$(cat /sys/block/vdb/serial)"
                echo "vdc size=$(blockdev --getsize64 /dev/vdc) lbs=$(blockdev --getss /dev/vdc) ro=$(cat /sys/block/vdc/ro)"
                """).requireSuccess();
        assertTrue(out.contains("vdb size=" + BLOCKS * 512 + " lbs=512 queues=2 ro=0 serial=Malloc0"), out);
        assertTrue(out.contains("vdc size=" + 2048 * 4096 + " lbs=4096 ro=1"), out);
        assertEquals(2, rw.runningQueues());
    }

    @Test
    @Order(2)
    void hostBdevSeesWhatTheGuestWrites() throws Exception {
        guest.exec("printf GUEST-WROTE-THIS | dd of=/dev/vdb bs=512 seek=2048 conv=sync oflag=direct").requireSuccess();
        BdevDesc d = bdevs.open("Malloc0", false, (t, x) -> { });
        try (Arena arena = Arena.ofShared()) { // the reactor copies into it
            MemorySegment buf = arena.allocate(512, 512);
            assertEquals(0, BlkHarness.read(group.reactor(0), d, buf, 2048, 1));
            byte[] b = new byte[16];
            MemorySegment.copy(buf, JAVA_BYTE, 0, b, 0, 16);
            assertEquals("GUEST-WROTE-THIS", new String(b, StandardCharsets.US_ASCII));
        } finally {
            d.close();
        }
    }

    @Test
    @Order(3)
    void fioVerifiesAndDiscardAndWriteZeroesReadBackAsZeroes() {
        GuestDiskChecks.fioVerifyDiscardAndZeroes(guest, 16, "16k", "ustor vhost-user-blk fio");
    }

    @Test
    @Order(4)
    void readOnlyDiskRefusesWrites() {
        String out = guest.exec("""
                dd if=/dev/vdc of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null && echo read=ok
                if dd if=/dev/zero of=/dev/vdc bs=4k count=1 oflag=direct 2>/dev/null; then echo write=accepted; else echo write=refused; fi
                """).requireSuccess();
        assertTrue(out.contains("read=ok"), out);
        assertTrue(out.contains("write=refused"), out);
    }
}
