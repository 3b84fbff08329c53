package io.ustor.daemon;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The operator's case: bin/ustord serves a file-backed disk to a QEMU guest over vhost-user-blk and is killed
 * (SIGKILL) under the guest's fio load, then started again with the same config. A delay bdev keeps writes in flight
 * (20 ms each), so the kill always catches some. QEMU ({@code reconnect=1}) reconnects, the new ustord resubmits what
 * the old one left in the inflight area, and fio's write and crc32c verify finish without an error. On split and
 * packed rings (each has its own inflight layout).
 */
@Tag("guest")
class VhostUstordReconnectGuestTest {
    private static final int BLOCK = 512;
    private static final long BLOCKS = 131072; // 64 MiB

    @TempDir
    Path dir;
    DaemonProcess ustord;
    Guest guest;

    @AfterEach
    void stop() {
        if (guest != null) {
            guest.close();
        }
        if (ustord != null) {
            ustord.close();
        }
    }

    private DaemonProcess start(Path config, Path sockDir) throws Exception {
        DaemonProcess d = DaemonProcess.startUstord(dir.resolve("rpc.sock"), "-S", sockDir.toString(), "-c",
                config.toString());
        d.awaitReady();
        return d;
    }

    @ParameterizedTest(name = "packed_ring={0}")
    @ValueSource(booleans = {false, true})
    void guestFioSurvivesUstordKilledUnderLoad(boolean packed) throws Exception {
        Path disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(BLOCKS * BLOCK);
        }
        Path sockDir = Files.createDirectory(dir.resolve("vhost"));
        Path config = dir.resolve("ustord.json");
        Files.writeString(config, """
                {"subsystems": [
                  {"subsystem": "bdev", "config": [
                    {"method": "bdev_aio_create", "params": {"name": "Aio0", "filename": "%s", "block_size": %d}},
                    {"method": "bdev_delay_create", "params": {"base_bdev_name": "Aio0", "name": "Slow0",
                     "avg_read_latency": 0, "p99_read_latency": 0, "avg_write_latency": 20000, "p99_write_latency": 20000}}
                  ]},
                  {"subsystem": "vhost_blk", "config": [
                    {"method": "vhost_create_blk_controller", "params": {"ctrlr": "vhost.0", "dev_name": "Slow0", "packed_ring": %b}}
                  ]}
                ]}""".formatted(disk, BLOCK, packed));
        ustord = start(config, sockDir);
        var builder = Guest.builder().name("ustord-vhost-reconnect")
                .vhostUserBlkReconnecting(sockDir.resolve("vhost.0"), 1, 1);
        if (packed) {
            builder.qemuArgs("-global", "vhost-user-blk.packed=on"); // the virtio property of the device in the proxy
        }
        guest = builder.start();
        String features = guest.exec("cat /sys/block/vdb/device/features").requireSuccess().strip();
        assertEquals(packed ? '1' : '0', features.charAt(34), "VIRTIO_F_RING_PACKED as the guest negotiated it: " + features);
        assertEquals("size=" + BLOCKS * BLOCK, guest.exec("echo size=$(blockdev --getsize64 /dev/vdb)").requireSuccess().strip());

        CompletableFuture<GuestResult> fio = CompletableFuture.supplyAsync(() -> guest.exec("""
                fio --name=kill --filename=/dev/vdb --size=8m --rw=randwrite --bs=4k --ioengine=libaio \\
                    --iodepth=16 --direct=1 --verify=crc32c --verify_fatal=1 \\
                    --output-format=terse --terse-version=3 > /tmp/k.terse || exit 1
                awk -F';' '{print "error=" $5 " read_kib=" $6 " write_kib=" $47}' /tmp/k.terse
                """, Duration.ofMinutes(10)));
        // Kill once the guest's writes are flowing: 16 in flight at 20 ms each means the kill always catches some.
        long before = writtenOps();
        for (int i = 0; i < 600 && writtenOps() - before < 64; i++) { // a cap for a loaded machine, not a timing check
            assertFalse(fio.isDone(), () -> "fio ended before the kill: " + fio.join().output());
            Thread.sleep(100);
        }
        assertTrue(writtenOps() - before >= 64, "the guest's writes reached ustord");
        assertFalse(fio.isDone(), "fio is still writing when ustord is killed");
        ustord.process.destroyForcibly();
        assertTrue(ustord.process.waitFor(60, TimeUnit.SECONDS));
        String firstLife = ustord.err();

        ustord = start(config, sockDir); // QEMU reconnects to the same socket on its own
        GuestResult r = fio.get(15, TimeUnit.MINUTES);
        String out = r.requireSuccess();
        assertTrue(out.contains("error=0 read_kib=8192 write_kib=8192"), out);
        assertTrue(ustord.err().contains("resubmitting"), "the restarted ustord resubmitted the requests the killed "
                + "one left in flight:\n" + ustord.err() + "\n--- first life:\n" + firstLife);
        System.out.println("ustord killed under vhost-user-blk load (" + (packed ? "packed" : "split") + " ring, "
                + guest.accelerator() + " guest): " + out.strip());
    }

    /** Writes ustord has counted on the delay bdev (completed ones), over its RPC socket; 0 before it answers. */
    private long writtenOps() throws Exception {
        DaemonProcess p = DaemonProcess.run("ustor-rpc", "-s", dir.resolve("rpc.sock").toString(), "bdev_get_iostat",
                "-b", "Slow0");
        if (p.waitFor() != 0) {
            return 0;
        }
        return RawJsonClient.MAPPER.readTree(p.out()).get("bdevs").get(0).get("num_write_ops").asLong();
    }
}
