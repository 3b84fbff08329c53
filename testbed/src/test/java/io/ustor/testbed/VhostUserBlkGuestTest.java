package io.ustor.testbed;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * QEMU's vhost-user-blk device (the guest's RAM in a shared memfd) against a vhost-user-blk server on the host
 * (qemu-storage-daemon, the stand-in until ustor serves it): data both ways, then fio with verification.
 */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VhostUserBlkGuestTest {
    private static final long SIZE = 256L << 20;
    @TempDir
    static Path dir;
    private static Path disk;
    private static QemuStorageDaemon server;
    private static Guest guest;

    @BeforeAll
    static void boot() throws Exception {
        disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(SIZE);
            f.write("HOST-PATTERN-AT-LBA0".getBytes(StandardCharsets.US_ASCII));
        }
        server = QemuStorageDaemon.vhostUserBlk(disk, dir.resolve("vub.sock"), 2);
        guest = Guest.builder().name("vhost-user-blk").vhostUserBlk(server.socket(), 2).start();
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    @Order(1)
    void guestSeesTheDiskAndTheHostsData() {
        String out = guest.exec("""
                echo "size=$(blockdev --getsize64 /dev/vdb) queues=$(ls /sys/block/vdb/mq | wc -l)"
                echo "lba0=$(dd if=/dev/vdb bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\\0')"
                """).requireSuccess();
        assertTrue(out.contains("size=" + SIZE + " queues=2"), out);
        assertTrue(out.contains("lba0=HOST-PATTERN-AT-LBA0"), out);
    }

    @Test
    @Order(2)
    void hostSeesWhatTheGuestWrites() throws Exception {
        guest.exec("printf GUEST-WROTE-THIS | dd of=/dev/vdb bs=512 seek=2048 conv=sync oflag=direct").requireSuccess();
        byte[] read = new byte[16];
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r")) {
            f.seek(1 << 20);
            f.readFully(read);
        }
        assertEquals("GUEST-WROTE-THIS", new String(read, StandardCharsets.US_ASCII));
    }

    @Test
    @Order(3)
    void fioWritesAndVerifiesThroughTheDevice() {
        // random 4 KiB writes with a checksum in every block, then a read-back that checks each one
        String out = guest.exec("""
                fio --name=verify --filename=/dev/vdb --offset=64m --size=16m --rw=randwrite --bs=4k \\
                    --ioengine=libaio --iodepth=16 --direct=1 --verify=crc32c --verify_fatal=1 \\
                    --output-format=terse --terse-version=3 > /tmp/v.terse || exit 1
                awk -F';' '{print "error=" $5 " read_kib=" $6 " write_kib=" $47 " write_iops=" $49}' /tmp/v.terse
                fio --name=randread --filename=/dev/vdb --rw=randread --bs=4k --ioengine=libaio --iodepth=16 \\
                    --direct=1 --runtime=2 --time_based --output-format=terse --terse-version=3 > /tmp/r.terse || exit 1
                awk -F';' '{print "randread error=" $5 " iops=" $8}' /tmp/r.terse
                """).requireSuccess();
        assertTrue(out.contains("error=0 read_kib=16384 write_kib=16384"), out);
        assertTrue(out.contains("randread error=0"), out);
        System.out.println("vhost-user-blk fio (TCG guest): " + out.strip().replace('\n', ';'));
        assertTrue(server.isAlive(), server.log());
    }
}
