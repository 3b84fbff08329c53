package io.ustor.daemon.guest;

import io.ustor.testbed.Guest;
import io.ustor.testbed.GuestResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ustord serving an NVMe controller over VFIO behind the guest's virtual IOMMU, all with the project's launchers
 * inside the guest: ustor-setup binds the controller, ustord attaches it from a JSON config, ustor-rpc sees the
 * bdev, save_config round-trips, ustord stops on SIGTERM; then bdevperf's verify workload runs on the nvme bdev, ustord
 * serves the nvme bdev as an iSCSI LUN to the guest's own open-iscsi initiator (fio verify), and ustor-setup gives the
 * controller back to the kernel.
 */
@Tag("guest-slow") // needs a packaged perf (bin/bdevperf) and ~10 min of TCG: .ci/run --full
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NvmeUstordVfioGuestTest {
    static Guest guest;
    static GuestUstor ustor;
    static String bdf;

    @BeforeAll
    static void boot() throws IOException {
        Path img = GuestUstor.image(Files.createTempDirectory("ustor-ustord-vfio").resolve("ns.img"), 64L << 20);
        guest = Guest.builder().name("ustord-nvme-vfio").iommu(true).memoryMb(2048).nvme(img, "ustord0").start();
        ustor = new GuestUstor(guest);
        bdf = ustor.bdfWithSerial("ustord0");
        String setup = guest.exec("HUGEMEM=512 " + GuestUstor.BIN + "/ustor-setup config").requireSuccess();
        assertTrue(setup.contains("-> vfio-pci"), setup);
    }

    @AfterAll
    static void powerOff() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    @Order(1)
    void ustordServesTheNvmeBdevAndSavesItsConfig() throws IOException {
        String config = ustor.hostFile("nvme.json", GuestUstor.attachConfig("Nvme0", bdf));
        GuestResult start = ustor.startUstord("/host/ustord-1.log", "-c " + config);
        System.out.println(start.output());
        assertEquals(0, start.exitCode(), start.output());
        assertTrue(start.output().contains("Nvme0n1 (nvme, 64 MiB, 512 B blocks)"), start.output());
        assertTrue(start.output().contains("IOVA va"), start.output());

        String bdevs = ustor.rpc("bdev_get_bdevs").requireSuccess();
        assertTrue(bdevs.contains("\"name\": \"Nvme0n1\"") && bdevs.contains("\"product_name\""), bdevs);
        String ctrlrs = ustor.rpc("bdev_nvme_get_controllers -n Nvme0").requireSuccess();
        System.out.println(ctrlrs);
        assertTrue(ctrlrs.contains(bdf) && ctrlrs.contains("\"access\": \"vfio\""), ctrlrs);
        String help = ustor.rpc("bdev_nvme_attach_controller --help").requireSuccess();
        assertTrue(help.contains("-b") && help.contains("--traddr"), help);

        String saved = ustor.rpc("save_config").requireSuccess();
        assertTrue(saved.contains("\"subsystem\": \"bdev_nvme\"") && saved.contains("\"traddr\": \"" + bdf + "\""), saved);
        Files.writeString(guest.runDirectory().resolve("saved.json"), saved);

        // detach and attach again through the CLI, in rpc.py's argument forms
        ustor.rpc("bdev_nvme_detach_controller Nvme0").requireSuccess();
        assertFalse(ustor.rpc("bdev_get_bdevs").requireSuccess().contains("Nvme0n1"));
        String names = ustor.rpc("bdev_nvme_attach_controller -b Nvme1 -t PCIe -a " + bdf).requireSuccess();
        assertEquals("Nvme1n1", names.strip());

        GuestResult stop = ustor.stopUstord("/host/ustord-1.log");
        assertEquals(0, stop.exitCode(), stop.output());
        assertTrue(stop.output().contains("ustord: stopped"), stop.output());
        assertTrue(stop.output().contains("detached"), stop.output());
    }

    @Test
    @Order(2)
    void savedConfigReloads() {
        GuestResult start = ustor.startUstord("/host/ustord-2.log", "-c /host/saved.json");
        System.out.println(start.output());
        assertEquals(0, start.exitCode(), start.output());
        assertTrue(start.output().contains("Nvme0n1 (nvme"), start.output());
        assertTrue(ustor.rpc("bdev_get_bdevs -b Nvme0n1").requireSuccess().contains("Nvme0n1"));
        GuestResult stop = ustor.stopUstord("/host/ustord-2.log");
        assertEquals(0, stop.exitCode(), stop.output());
    }

    @Test
    @Order(3)
    void bdevperfVerifyPassesOnTheNvmeBdev() throws IOException {
        String config = ustor.hostFile("bdevperf.json", GuestUstor.attachConfig("Nvme0", bdf));
        GuestResult r = ustor.bdevperf("--json " + config + " -m 0x1 -q 32 -o 4096 -w verify -t 5");
        System.out.println(r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("Nvme0n1"), r.output());
        String log = guest.qemuLog();
        assertFalse(log.contains("translation failure"), log);
    }

    @Test
    @Order(4)
    void theNvmeBdevServedOverIscsiToTheGuestsOwnInitiator() throws IOException {
        String iqn = "iqn.2026-11.io.ustor:nvme0";
        String config = ustor.hostFile("nvme-iscsi.json", """
                {"subsystems": [
                  {"subsystem": "bdev", "config": [
                    {"method": "bdev_nvme_attach_controller", "params": {"name": "Nvme0", "trtype": "PCIe", "traddr": "%s"}}]},
                  {"subsystem": "iscsi", "config": [
                    {"method": "iscsi_create_portal_group", "params": {"tag": 1, "portals": [{"host": "127.0.0.1", "port": "3260"}]}},
                    {"method": "iscsi_create_initiator_group", "params": {"tag": 1, "initiators": ["ANY"], "netmasks": ["127.0.0.1/32"]}},
                    {"method": "iscsi_create_target_node", "params": {"name": "%s", "luns": [{"bdev_name": "Nvme0n1", "lun_id": 0}],
                     "pg_ig_maps": [{"pg_tag": 1, "ig_tag": 1}], "queue_depth": 64, "disable_chap": true}}]}
                ]}""".formatted(bdf, iqn));
        GuestResult start = ustor.startUstord("/host/ustord-iscsi.log", "-c " + config);
        assertEquals(0, start.exitCode(), start.output());
        try {
            GuestResult r = guest.exec("""
                    mkdir -p /run/lock /etc/iscsi
                    echo InitiatorName=iqn.2026-11.io.ustor:guest-initiator > /etc/iscsi/initiatorname.iscsi
                    pgrep -x iscsid >/dev/null || iscsid
                    for i in $(seq 50); do pgrep -x iscsid >/dev/null && break; sleep 0.1; done
                    iscsiadm -m discovery -t st -p 127.0.0.1:3260 || exit 2
                    iscsiadm -m node -T %s -p 127.0.0.1:3260 --login || exit 3
                    modprobe sd_mod
                    for i in $(seq 100); do
                      d=$(iscsiadm -m session -P3 2>/dev/null | awk '/Attached scsi disk/{print $4}')
                      [ -n "$d" ] && [ -e /sys/block/$d/size ] && break
                      sleep 0.1
                    done
                    [ -n "$d" ] || { iscsiadm -m session -P3; exit 4; }
                    echo "disk=$d sectors=$(cat /sys/block/$d/size)"
                    fio --name=v --filename=/dev/$d --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=16M \\
                        --verify=crc32c --verify_fatal=1 --ioengine=libaio --output-format=terse --terse-version=3 > /tmp/v.terse
                    rc=$?
                    awk -F';' '{print "error=" $5 " read_kib=" $6 " write_kib=" $47}' /tmp/v.terse
                    iscsiadm -m node -T %s -p 127.0.0.1:3260 --logout
                    exit $rc
                    """.formatted(iqn, iqn), java.time.Duration.ofMinutes(8));
            System.out.println(r.output());
            assertEquals(0, r.exitCode(), r.output());
            assertTrue(r.output().contains("sectors=" + (64L << 20) / 512), r.output());
            assertTrue(r.output().contains("error=0 read_kib=16384 write_kib=16384"), r.output());
            assertFalse(guest.qemuLog().contains("translation failure"), guest.qemuLog());
        } finally {
            GuestResult stop = ustor.stopUstord("/host/ustord-iscsi.log");
            assertEquals(0, stop.exitCode(), stop.output());
        }
    }

    @Test
    @Order(5)
    void resetGivesTheControllerBack() {
        String out = guest.exec(GuestUstor.BIN + "/ustor-setup reset && sleep 1 && " + GuestUstor.BIN + "/ustor-setup status")
                .requireSuccess();
        assertFalse(out.substring(out.indexOf("NVMe controllers:")).contains("vfio-pci"), out);
    }
}
