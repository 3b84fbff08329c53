package io.ustor.nvme;

import io.ustor.nvme.tools.NvmePerf;
import io.ustor.testbed.Guest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Benchmark (not a test): in one guest, nvme-perf at QD1 and QD32 4 KiB randread against the user-space driver over
 * VFIO, and fio with io_uring --hipri (polled) against Linux's nvme driver on the same emulated device. Prints both.
 */
@Tag("bench")
class NvmePerfGuestBench {
    @Test
    void userSpaceDriverAgainstKernelPolledIo() throws IOException {
        Path img = NvmeVfioGuestTest.image(Files.createTempDirectory("ustor-nvme-bench").resolve("ns.img"));
        try (Guest g = Guest.builder().name("nvme-bench").iommu(true).nvme(img, "bench").start()) {
            String bdf = g.exec("modprobe nvme poll_queues=1; sleep 1; basename $(readlink -f /sys/class/nvme/nvme0/device)").requireSuccess().trim();
            for (int qd : new int[]{1, 32}) {
                String fio = g.exec("fio --name=k --filename=/dev/nvme0n1 --ioengine=io_uring --hipri --direct=1 --rw=randread"
                        + " --bs=4k --iodepth=" + qd + " --runtime=10 --time_based --output-format=terse --terse-version=3"
                        + " | awk -F';' '{print \"fio io_uring hipri QD" + qd + " IOPS \" $8}'").requireSuccess();
                System.out.println(fio);
            }
            g.exec("HUGEMEM=128 /ustor/bin/ustor-setup config").requireSuccess();
            for (int qd : new int[]{1, 32}) {
                System.out.println("nvme-perf QD" + qd + ":\n" + g.java(NvmePerf.class.getName(), "-a", bdf, "-q",
                        Integer.toString(qd), "-o", "4096", "-w", "randread", "-t", "10").output());
            }
        }
    }
}
