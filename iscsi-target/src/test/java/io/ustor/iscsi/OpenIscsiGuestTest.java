package io.ustor.iscsi;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Linux's own initiator (open-iscsi, the kernel's iscsi_tcp and sd) against the target running in this JVM:
 * SendTargets discovery, login, the LUN as a SCSI disk, fio with verification, data written in the guest read back
 * from the bdev on the host, logout, and CHAP (one-way and mutual; a wrong secret is refused).
 *
 * <p>The target listens on 127.0.0.1: QEMU's user network delivers the guest's connections to 10.0.2.2 on the
 * host's loopback.
 */
@Tag("guest")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OpenIscsiGuestTest {
    static final String PLAIN = "iqn.2026-11.io.ustor:guest-plain";
    static final String CHAP = "iqn.2026-11.io.ustor:guest-chap";
    static final String MUTUAL = "iqn.2026-11.io.ustor:guest-mutual";
    static final long LUN_BYTES = 64L << 20;
    static final int BLOCK = 512;
    /** Where the guest puts a known pattern (bytes into the LUN), above fio's 16 MiB. */
    static final long PATTERN_OFFSET = 40L << 20;
    static final int PATTERN_BYTES = 1 << 20;

    static ReactorGroup reactors;
    static BdevRegistry bdevs;
    static IscsiTarget target;
    static int port;
    static Guest guest;

    @BeforeAll
    static void start() {
        reactors = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(reactors);
        bdevs.register(MallocBdev.create("Malloc0", LUN_BYTES / BLOCK, BLOCK, null));
        bdevs.register(MallocBdev.create("Malloc1", 8192, BLOCK, null));
        bdevs.register(MallocBdev.create("Malloc2", 8192, BLOCK, null));
        target = IscsiTarget.start(reactors, bdevs, IscsiOptions.defaults());
        target.createPortalGroup(1, List.of(new Portal("127.0.0.1", 0)), false);
        // The guest's connections arrive from the host's loopback: the netmask check sees 127.0.0.1.
        target.createInitiatorGroup(1, List.of("ANY"), List.of("127.0.0.1/32"));
        target.createAuthGroup(1, List.of(new ChapSecret("guestuser", "guestsecret12", "targetuser", "targetsecret34")));
        target.createTargetNode(PLAIN, "plain", List.of(new PgIgMapping(1, 1)), List.of(new LunSpec("Malloc0", 0)),
                64, ChapPolicy.none(), false, false);
        target.createTargetNode(CHAP, "chap", List.of(new PgIgMapping(1, 1)), List.of(new LunSpec("Malloc1", 0)),
                64, new ChapPolicy(false, true, false, 1), false, false);
        target.createTargetNode(MUTUAL, "mutual", List.of(new PgIgMapping(1, 1)), List.of(new LunSpec("Malloc2", 0)),
                64, new ChapPolicy(false, true, true, 1), false, false);
        port = target.boundAddress(1).getPort();
        guest = Guest.builder().name("iscsi-initiator").memoryMb(1024).start();
        guest.exec("""
                mkdir -p /run/lock /etc/iscsi
                echo InitiatorName=iqn.2026-11.io.ustor:guest-initiator > /etc/iscsi/initiatorname.iscsi
                iscsid
                for i in $(seq 50); do [ -S /run/iscsid.sock ] || pgrep -x iscsid >/dev/null && break; sleep 0.1; done
                pgrep -x iscsid
                """).requireSuccess();
    }

    @AfterAll
    static void stop() {
        if (guest != null) {
            guest.close();
        }
        if (target != null) {
            target.close();
        }
        if (bdevs != null) {
            bdevs.unregisterAll().join();
        }
        if (reactors != null) {
            reactors.close();
        }
    }

    private static String portal() {
        return Guest.HOST_ADDRESS + ":" + port;
    }

    private static String node(String iqn) {
        return "iscsiadm -m node -T " + iqn + " -p " + portal();
    }

    /** Adds the node for 10.0.2.2 statically (discovery reports the portal the target listens on, 127.0.0.1). */
    private static String addNode(String iqn) {
        return "iscsiadm -m node -o new -T " + iqn + " -p " + portal() + " >/dev/null\n";
    }

    /** Waits for the session's disk, prints its name (sdX). */
    private static String attachedDisk(String iqn) {
        return """
                modprobe sd_mod
                for i in $(seq 100); do
                  d=$(iscsiadm -m session -P3 2>/dev/null | awk -v t=%s '$1=="Target:"{cur=$2} /Attached scsi disk/{if (cur==t) print $4}')
                  [ -n "$d" ] && [ -e /sys/block/$d/size ] && break
                  sleep 0.1
                done
                [ -n "$d" ] || { echo "no disk for %s"; iscsiadm -m session -P3; exit 1; }
                """.formatted(iqn, iqn);
    }

    @Test
    @Order(1)
    void sendTargetsDiscoveryListsEveryTarget() {
        String out = guest.exec("iscsiadm -m discovery -t st -p " + portal()).requireSuccess();
        System.out.println(out);
        for (String iqn : List.of(PLAIN, CHAP, MUTUAL)) {
            assertTrue(out.contains("," + 1 + " " + iqn), out);
        }
    }

    @Test
    @Order(2)
    void loginFioVerifyHostReadbackLogout() throws Exception {
        GuestResult r = guest.exec(addNode(PLAIN) + node(PLAIN) + " --login\n" + attachedDisk(PLAIN) + """
                echo "disk=$d size=$(cat /sys/block/$d/size) vendor=$(cat /sys/block/$d/device/vendor)"
                fio --name=v --filename=/dev/$d --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=16M \
                    --verify=crc32c --ioengine=libaio --output-format=normal > /tmp/fio-write.txt 2>&1
                rc=$?; cat /tmp/fio-write.txt; [ $rc -eq 0 ] || exit 10
                fio --name=v --filename=/dev/$d --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=16M \
                    --verify=crc32c --verify_only --ioengine=libaio > /tmp/fio-verify.txt 2>&1
                rc=$?; cat /tmp/fio-verify.txt; [ $rc -eq 0 ] || exit 11
                fio --name=r --filename=/dev/$d --direct=1 --rw=randread --bs=4k --iodepth=16 --size=16M \
                    --ioengine=libaio --time_based --runtime=5 > /tmp/fio-read.txt 2>&1
                rc=$?; cat /tmp/fio-read.txt; [ $rc -eq 0 ] || exit 12
                head -c %d /dev/urandom > /host/pattern.bin
                dd if=/host/pattern.bin of=/dev/$d bs=%d seek=%d oflag=direct conv=fsync status=none || exit 13
                echo "pattern written"
                """.formatted(PATTERN_BYTES, PATTERN_BYTES, PATTERN_OFFSET / PATTERN_BYTES), Duration.ofMinutes(5));
        System.out.println(r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("size=" + LUN_BYTES / 512), "the disk's size in 512-byte sectors\n" + r.output());
        assertTrue(r.output().contains("vendor=USTOR"), "INQUIRY vendor as Linux sees it\n" + r.output());
        assertTrue(r.output().contains("err= 0"), r.output());
        reportIops(r.output());
        assertEquals(1, target.connections().size(), "one session while logged in");

        // What the guest wrote through iSCSI is in the bdev.
        byte[] expected = Files.readAllBytes(guest.runDirectory().resolve("pattern.bin"));
        assertEquals(PATTERN_BYTES, expected.length);
        assertArrayEquals(expected, readBdev("Malloc0", PATTERN_OFFSET, PATTERN_BYTES), "bdev content at 40 MiB");

        String out = guest.exec(node(PLAIN) + " --logout\niscsiadm -m session 2>&1 || true").requireSuccess();
        assertTrue(out.contains("No active sessions"), out);
        awaitNoConnections();
    }

    @Test
    @Order(3)
    void chapRefusesAWrongSecretAndAcceptsTheRightOne() throws Exception {
        String set = node(CHAP) + " -o update -n node.session.auth.";
        GuestResult wrong = guest.exec(addNode(CHAP) + set + "authmethod -v CHAP\n" + set + "username -v guestuser\n"
                + set + "password -v wrongsecret99\n" + node(CHAP) + " --login");
        System.out.println(wrong.output());
        assertNotEquals(0, wrong.exitCode(), "a wrong CHAP secret must not log in\n" + wrong.output());
        awaitNoConnections();

        GuestResult right = guest.exec(set + "password -v guestsecret12\n" + node(CHAP) + " --login\n"
                + attachedDisk(CHAP) + """
                echo "disk=$d size=$(cat /sys/block/$d/size)"
                dd if=/dev/$d of=/dev/null bs=64k iflag=direct status=none && echo read-ok
                """ + node(CHAP) + " --logout");
        System.out.println(right.output());
        assertEquals(0, right.exitCode(), right.output());
        assertTrue(right.output().contains("size=8192") && right.output().contains("read-ok"), right.output());
        awaitNoConnections();
    }

    @Test
    @Order(4)
    void mutualChapAuthenticatesTheTargetToo() throws Exception {
        String set = node(MUTUAL) + " -o update -n node.session.auth.";
        String common = addNode(MUTUAL) + set + "authmethod -v CHAP\n" + set + "username -v guestuser\n"
                + set + "password -v guestsecret12\n" + set + "username_in -v targetuser\n";
        GuestResult wrongTarget = guest.exec(common + set + "password_in -v notthetarget9\n" + node(MUTUAL) + " --login");
        System.out.println(wrongTarget.output());
        assertNotEquals(0, wrongTarget.exitCode(), "the initiator must refuse a target that answers with another "
                + "secret\n" + wrongTarget.output());
        awaitNoConnections();

        GuestResult ok = guest.exec(set + "password_in -v targetsecret34\n" + node(MUTUAL) + " --login\n"
                + attachedDisk(MUTUAL) + "echo \"disk=$d size=$(cat /sys/block/$d/size)\"\n" + node(MUTUAL) + " --logout");
        System.out.println(ok.output());
        assertEquals(0, ok.exitCode(), ok.output());
        assertTrue(ok.output().contains("size=8192"), ok.output());
        awaitNoConnections();
    }

    private static void reportIops(String fioOutput) {
        Matcher m = Pattern.compile("(read|write): IOPS=([0-9.k]+), BW=([^ ]+)").matcher(fioOutput);
        while (m.find()) {
            System.out.println("fio through open-iscsi: " + m.group(1) + " IOPS=" + m.group(2) + " BW=" + m.group(3));
        }
    }

    /** Logout is asynchronous on the target side: the connection closes when the reactor sees the FIN. */
    private static void awaitNoConnections() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<ConnectionInfo> c = target.connections();
        while (!c.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            c = target.connections();
        }
        assertEquals(List.of(), c, "connections left on the target");
        assertEquals(0, target.sessionCount(), "sessions left on the target");
    }

    /** Reads the bdev directly (not through iSCSI) on reactor 0. */
    private static byte[] readBdev(String name, long offset, int length) throws Exception {
        BdevDesc desc = bdevs.open(name, false, (t, d) -> { });
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(length, 4096);
            Reactor r = reactors.reactor(0);
            CompletableFuture<Boolean> done = new CompletableFuture<>();
            BdevIoCallback cb = (io, ok, arg) -> done.complete(ok);
            CompletableFuture<Integer> submitted = new CompletableFuture<>();
            r.submit(() -> {
                BdevChannel ch = desc.getIoChannel();
                int rc = desc.read(ch, buf, offset / BLOCK, length / BLOCK, (io, ok, arg) -> {
                    desc.putIoChannel(ch);
                    cb.onComplete(io, ok, arg);
                }, null);
                if (rc != 0) {
                    desc.putIoChannel(ch);
                }
                submitted.complete(rc);
            });
            assertEquals(0, submitted.get(10, TimeUnit.SECONDS), "read submit");
            assertTrue(done.get(10, TimeUnit.SECONDS), "read completed successfully");
            return buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        } finally {
            desc.close();
        }
    }
}
