package io.ustor.nvme.internal;

/** Virtual address to device (IO virtual) address, or -1 when the device cannot reach it. Allocation-free. */
@FunctionalInterface
public interface IovaMap {
    long iova(long vaddr);
}
