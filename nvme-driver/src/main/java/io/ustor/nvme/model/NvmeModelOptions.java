package io.ustor.nvme.model;

/**
 * How a {@link NvmeControllerModel} is built.
 *
 * @param namespaceBytes size of the RAM namespace (nsid 1); a multiple of 4096
 * @param blockSize      LBA data size in use: 512 (LBA format 0) or 4096 (LBA format 1)
 * @param maxQueueEntries CAP.MQES + 1: the largest queue the controller accepts (2..65536)
 * @param maxIoQueues    I/O submission and completion queues the controller grants at most (1..511: the doorbells fit one 4 KiB page)
 * @param mdts           Identify MDTS: largest transfer is 4096 << mdts bytes; 0 = no limit (the model then caps at 2 MiB)
 * @param serialNumber   Identify serial number (at most 20 ASCII characters)
 */
public record NvmeModelOptions(long namespaceBytes, int blockSize, int maxQueueEntries, int maxIoQueues, int mdts,
                               String serialNumber) {
    public NvmeModelOptions {
        if (namespaceBytes <= 0 || namespaceBytes % 4096 != 0) {
            throw new IllegalArgumentException("namespaceBytes " + namespaceBytes + " is not a positive multiple of 4096");
        }
        if (blockSize != 512 && blockSize != 4096) {
            throw new IllegalArgumentException("blockSize " + blockSize + ": the model has LBA formats 512 and 4096");
        }
        if (maxQueueEntries < 2 || maxQueueEntries > 65536) {
            throw new IllegalArgumentException("maxQueueEntries " + maxQueueEntries + " outside 2..65536");
        }
        if (maxIoQueues < 1 || maxIoQueues > 511) {
            throw new IllegalArgumentException("maxIoQueues " + maxIoQueues + " outside 1..511");
        }
        if (mdts < 0 || mdts > 9) {
            throw new IllegalArgumentException("mdts " + mdts + " outside 0..9");
        }
        if (serialNumber == null || serialNumber.length() > 20) {
            throw new IllegalArgumentException("serial number '" + serialNumber + "' longer than 20 characters");
        }
    }

    /** 64 MiB of 512-byte blocks, queues of up to 1024 entries, 16 I/O queues, 512 KiB transfers. */
    public static NvmeModelOptions defaults() {
        return new NvmeModelOptions(64L << 20, 512, 1024, 16, 7, "USTORMODEL0001");
    }

    public NvmeModelOptions withNamespaceBytes(long bytes) {
        return new NvmeModelOptions(bytes, blockSize, maxQueueEntries, maxIoQueues, mdts, serialNumber);
    }

    public NvmeModelOptions withBlockSize(int bytes) {
        return new NvmeModelOptions(namespaceBytes, bytes, maxQueueEntries, maxIoQueues, mdts, serialNumber);
    }

    public NvmeModelOptions withMaxQueueEntries(int entries) {
        return new NvmeModelOptions(namespaceBytes, blockSize, entries, maxIoQueues, mdts, serialNumber);
    }

    public NvmeModelOptions withMaxIoQueues(int queues) {
        return new NvmeModelOptions(namespaceBytes, blockSize, maxQueueEntries, queues, mdts, serialNumber);
    }

    public NvmeModelOptions withMdts(int value) {
        return new NvmeModelOptions(namespaceBytes, blockSize, maxQueueEntries, maxIoQueues, value, serialNumber);
    }

    public NvmeModelOptions withSerialNumber(String sn) {
        return new NvmeModelOptions(namespaceBytes, blockSize, maxQueueEntries, maxIoQueues, mdts, sn);
    }

    /** Largest data transfer of one command in bytes. */
    public long maxTransferBytes() {
        return mdts == 0 ? 2L << 20 : 4096L << mdts;
    }
}
