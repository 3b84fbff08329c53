package io.ustor.vhost;

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

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * QEMU's vhost-user-blk-pci with {@code packed=on} against a controller created with {@code packed_ring}: the guest's
 * Linux virtio driver runs the disk on packed virtqueues (with indirect descriptors and event-index notification
 * suppression), fio verifies data on two queues, discard and write-zeroes read back as zeroes; then a live migration
 * (to a sink: {@code exec:cat > /dev/null}) completes while fio runs on the disk, which needs the back end's dirty
 * logging (VHOST_F_LOG_ALL, LOG_SHMFD), and the guest resumes on the same back end afterwards. One boot.
 */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VhostBlkPackedGuestTest {
    private static final long BLOCKS = 131072; // 64 MiB of 512-byte blocks
    @TempDir
    static Path dir;
    static ReactorGroup group;
    static BdevRegistry bdevs;
    static VhostBlkController packed;
    static Guest guest;

    @BeforeAll
    static void boot() {
        group = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        bdevs.register(MallocBdev.create("Malloc0", BLOCKS, 512, null));
        packed = VhostBlkController.create(VhostBlkOptions.of("vhost.packed", dir, "Malloc0").withPackedRing(true)
                .withMaxQueues(2), bdevs);
        // The virtio "packed" property of the vhost-user-blk device inside vhost-user-blk-pci.
        guest = Guest.builder().name("ustor-vhost-packed").vhostUserBlk(packed.options().socketPath(), 2)
                .qemuArgs("-global", "vhost-user-blk.packed=on").monitor().start();
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
        if (packed != null) {
            packed.close();
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
    void guestDriverNegotiatedThePackedRing() {
        // The driver's feature bits as a string of 0/1 per bit: bit 34 is VIRTIO_F_RING_PACKED.
        String out = guest.exec("""
                f=$(cat /sys/block/vdb/device/features)
                echo "packed=${f:34:1} indirect=${f:28:1} event_idx=${f:29:1} queues=$(ls /sys/block/vdb/mq | wc -l)"
                """).requireSuccess();
        assertTrue(out.contains("packed=1 indirect=1 event_idx=1 queues=2"), out);
        assertEquals(2, packed.runningQueues());
    }

    @Test
    @Order(2)
    void fioVerifiesAndDiscardAndWriteZeroesReadBackAsZeroes() {
        GuestDiskChecks.fioVerifyDiscardAndZeroes(guest, 32, "64k", "ustor vhost-user-blk packed ring fio");
    }

    /**
     * QEMU refuses to migrate while a 9p share is mounted, and the guest's command channel is one: a background job
     * in the guest unmounts every share for a while (the command loop only looks at them between commands), fio
     * runs meanwhile, and the host migrates in that window, resumes the guest ({@code cont}: the rings restart from
     * the bases GET_VRING_BASE reported), and waits for the shares to come back.
     */
    @Test
    @Order(3)
    void liveMigrationCompletesWhileTheDiskIsInUse() throws Exception {
        guest.exec("""
                cat > /tmp/migrate-window.sh <<'EOS'
                cd /
                fio --name=mig --filename=/dev/vdb --offset=40m --size=8m --rw=randrw --bs=4k --ioengine=libaio \\
                    --iodepth=16 --direct=1 --verify=crc32c --verify_fatal=1 --time_based --runtime=40 \\
                    --output-format=terse --terse-version=3 > /tmp/mig.terse 2>/tmp/mig.err; echo $? > /tmp/mig.rc &
                sleep 3
                # A share can be busy for a moment (the exec agent between commands): retry before giving up.
                for try in $(seq 1 20); do
                  for m in $(awk '$3 == "9p" {print $2}' /proc/mounts | sort -r); do umount "$m" || echo "umount $m: try $try"; done
                  awk '$3 == "9p"' /proc/mounts > /tmp/still-mounted
                  [ -s /tmp/still-mounted ] || break
                  sleep 0.5
                done
                sleep 25
                mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /host
                while read -r tag path mode; do
                  [ -n "$tag" ] || continue
                  opts=trans=virtio,version=9p2000.L,msize=512000,rw
                  [ "$mode" = rw ] || opts=trans=virtio,version=9p2000.L,msize=512000,ro,cache=loose
                  mount -t 9p -o "$opts" "$tag" "$path"
                done < /host/mounts
                EOS
                setsid bash /tmp/migrate-window.sh > /tmp/migrate-window.log 2>&1 < /dev/null &
                echo started
                """).requireSuccess();
        Thread.sleep(8000); // the shares are gone by now (guest time runs slower under TCG: polled below)
        String status = "";
        long deadline = System.nanoTime() + 120_000_000_000L;
        boolean started = false;
        while (System.nanoTime() < deadline) {
            if (!started) {
                String r = guest.monitorCommand("migrate -d \"exec:cat > /dev/null\"");
                if (r.contains("VirtFS")) {
                    Thread.sleep(1000); // the guest has not unmounted yet
                    continue;
                }
                assertTrue(r.isBlank(), "migrate: " + r);
                started = true;
            }
            String info = guest.monitorCommand("info migrate");
            Matcher m = Pattern.compile("Migration status: (\\S+)").matcher(info);
            status = m.find() ? m.group(1) : info;
            if (status.equals("completed") || status.equals("failed") || status.equals("cancelled")) {
                break;
            }
            Thread.sleep(500);
        }
        if (!status.equals("completed")) {
            // Why, from the guest (its shares are back once the window script has remounted them).
            String why = guest.exec("cat /tmp/migrate-window.log; echo still mounted:; cat /tmp/still-mounted")
                    .output();
            assertEquals("completed", status, "migration status; the guest's window script said:\n" + why);
        }
        System.out.println("ustor vhost-user-blk: migration " + status + " with the disk in use");
        guest.monitorCommand("cont");
        // The next command runs once the shares are back; fio must have gone on across the migration and verified.
        String out = guest.exec("""
                while [ ! -e /tmp/mig.rc ]; do sleep 1; done
                echo "fio_rc=$(cat /tmp/mig.rc)"
                awk -F';' '{print "mig error=" $5 " read_kib=" $6 " write_kib=" $47}' /tmp/mig.terse
                echo "still_mounted=$(wc -l < /tmp/still-mounted)"
                cat /tmp/mig.err
                """).requireSuccess();
        assertTrue(out.contains("still_mounted=0"), out);
        assertTrue(out.contains("fio_rc=0"), out);
        assertTrue(out.contains("mig error=0"), out);
        assertEquals(2, packed.runningQueues(), "the rings run again after the guest resumed");
        System.out.println("ustor vhost-user-blk fio across migration: " + out.strip().replace('\n', ';'));
    }
}
