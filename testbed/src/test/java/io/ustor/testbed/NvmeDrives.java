package io.ustor.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Backing files and guest scripts shared by the NVMe proof tests. */
final class NvmeDrives {
    /** Loads the kernel nvme driver and prints the controller's address, serial, IOMMU group and LBA 0's text. */
    static final String KERNEL_READ_SCRIPT = """
            set -e
            modprobe nvme
            BDF=$(lspci -D -n -d 1b36:0010 | awk '{print $1; exit}')
            echo "BDF=$BDF"
            for i in $(seq 100); do [ -b /dev/nvme0n1 ] && break; sleep 0.1; done
            echo "driver=$(basename "$(readlink /sys/bus/pci/devices/$BDF/driver)")"
            echo "serial=$(cat /sys/class/nvme/nvme0/serial | tr -d ' ')"
            echo "iommu_group=$(basename "$(readlink /sys/bus/pci/devices/$BDF/iommu_group 2>/dev/null)" 2>/dev/null)"
            echo "lba0=$(dd if=/dev/nvme0n1 bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\\0')"
            """;

    private NvmeDrives() {
    }

    /** A 64 MiB raw file whose first bytes are {@code pattern}. */
    static Path create(Path file, String pattern) throws IOException {
        Files.write(file, pattern.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.CREATE_NEW);
        try (var channel = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(64L << 20);
            channel.write(java.nio.ByteBuffer.allocate(1), (64L << 20) - 1);
        }
        return file;
    }

    /** Moves the first emulated NVMe controller (BDF in $BDF afterwards) to {@code driver}, through driver_override. */
    static String bindScript(String driver) {
        return """
                set -e
                modprobe %1$s
                BDF=$(lspci -D -n -d 1b36:0010 | awk '{print $1; exit}')
                if [ -e /sys/bus/pci/devices/$BDF/driver ]; then echo "$BDF" > /sys/bus/pci/devices/$BDF/driver/unbind; fi
                echo %1$s > /sys/bus/pci/devices/$BDF/driver_override
                echo "$BDF" > /sys/bus/pci/drivers_probe
                echo "driver now: $(basename "$(readlink /sys/bus/pci/devices/$BDF/driver)")"
                """.formatted(driver);
    }
}
