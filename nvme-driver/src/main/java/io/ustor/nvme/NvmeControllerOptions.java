package io.ustor.nvme;

/**
 * @param adminQueueEntries admin queue size (clamped to CAP.MQES+1, at most 4096)
 * @param ioQueueEntries    I/O submission/completion queue size (clamped to CAP.MQES+1)
 * @param ioQueueSlots      command slots per I/O queue pair; more than entries-1 lets commands wait for room; 0 = 2x
 * @param maxIoQueues       I/O queues to ask for with Set Features (Number of Queues)
 * @param delayDoorbell     write the SQ doorbell once per poll instead of per command
 * @param adminTimeoutMs    how long a control-plane admin command may take
 * @param ioTimeoutMs       I/O command timeout checked by pollers; 0 = none
 */
public record NvmeControllerOptions(int adminQueueEntries, int ioQueueEntries, int ioQueueSlots, int maxIoQueues,
                                    boolean delayDoorbell, long adminTimeoutMs, long ioTimeoutMs) {
    public static NvmeControllerOptions defaults() {
        return new NvmeControllerOptions(32, 256, 0, 64, true, 10_000, 30_000);
    }

    public NvmeControllerOptions withIoQueueEntries(int n) {
        return new NvmeControllerOptions(adminQueueEntries, n, ioQueueSlots, maxIoQueues, delayDoorbell, adminTimeoutMs, ioTimeoutMs);
    }

    public NvmeControllerOptions withIoQueueSlots(int n) {
        return new NvmeControllerOptions(adminQueueEntries, ioQueueEntries, n, maxIoQueues, delayDoorbell, adminTimeoutMs, ioTimeoutMs);
    }

    public NvmeControllerOptions withDelayDoorbell(boolean on) {
        return new NvmeControllerOptions(adminQueueEntries, ioQueueEntries, ioQueueSlots, maxIoQueues, on, adminTimeoutMs, ioTimeoutMs);
    }

    public NvmeControllerOptions withIoTimeoutMs(long ms) {
        return new NvmeControllerOptions(adminQueueEntries, ioQueueEntries, ioQueueSlots, maxIoQueues, delayDoorbell, adminTimeoutMs, ms);
    }
}
