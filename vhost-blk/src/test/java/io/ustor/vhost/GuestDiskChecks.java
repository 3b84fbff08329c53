package io.ustor.vhost;

import io.ustor.testbed.Guest;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every vhost-user-blk guest test checks on its disk /dev/vdb, whatever the ring layout. */
final class GuestDiskChecks {
    private GuestDiskChecks() {
    }

    /**
     * fio crc32c verify (16 MiB of 4 KiB random writes at {@code iodepth}, then a two-job mixed run of
     * {@code mixedBlockSize} blocks), then discard and write-zeroes of 1 MiB each reading back as zeroes while the
     * MiB between them keeps its data, then a flush. Prints the results under {@code label}.
     */
    static void fioVerifyDiscardAndZeroes(Guest guest, int iodepth, String mixedBlockSize, String label) {
        String out = guest.exec("""
                fio --name=verify --filename=/dev/vdb --offset=8m --size=16m --rw=randwrite --bs=4k \\
                    --ioengine=libaio --iodepth=%d --direct=1 --verify=crc32c --verify_fatal=1 \\
                    --output-format=terse --terse-version=3 > /tmp/v.terse || exit 1
                awk -F';' '{print "error=" $5 " read_kib=" $6 " write_kib=" $47}' /tmp/v.terse
                fio --name=mixed --filename=/dev/vdb --offset=32m --offset_increment=8m --size=8m --rw=randrw --bs=%s --numjobs=2 \\
                    --ioengine=libaio --iodepth=8 --direct=1 --verify=crc32c --verify_fatal=1 --group_reporting \\
                    --output-format=terse --terse-version=3 > /tmp/m.terse || exit 1
                awk -F';' '{print "mixed error=" $5}' /tmp/m.terse
                dd if=/dev/urandom of=/dev/vdb bs=1M seek=50 count=4 oflag=direct 2>/dev/null
                blkdiscard -o $((50<<20)) -l $((1<<20)) /dev/vdb && echo discard=ok
                blkdiscard -z -o $((52<<20)) -l $((1<<20)) /dev/vdb && echo zeroout=ok
                echo "discarded_nonzero=$(dd if=/dev/vdb bs=1M skip=50 count=1 iflag=direct 2>/dev/null | tr -d '\\0' | wc -c)"
                echo "zeroed_nonzero=$(dd if=/dev/vdb bs=1M skip=52 count=1 iflag=direct 2>/dev/null | tr -d '\\0' | wc -c)"
                echo "kept_nonzero=$(dd if=/dev/vdb bs=1M skip=51 count=1 iflag=direct 2>/dev/null | tr -d '\\0' | wc -c)"
                sync && blockdev --flushbufs /dev/vdb && echo flush=ok
                """.formatted(iodepth, mixedBlockSize)).requireSuccess();
        assertTrue(out.contains("error=0 read_kib=16384 write_kib=16384"), out);
        assertTrue(out.contains("mixed error=0"), out);
        assertTrue(out.contains("discard=ok"), out);
        assertTrue(out.contains("zeroout=ok"), out);
        assertTrue(out.contains("discarded_nonzero=0"), out);
        assertTrue(out.contains("zeroed_nonzero=0"), out);
        assertFalse(out.contains("kept_nonzero=0\n"), out);
        assertTrue(out.contains("flush=ok"), out);
        System.out.println(label + " (TCG guest): " + out.strip().replace('\n', ';'));
    }
}
