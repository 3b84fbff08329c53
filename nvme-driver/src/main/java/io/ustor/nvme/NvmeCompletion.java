package io.ustor.nvme;

/**
 * Called on the queue pair's thread when a command finishes. {@code status} is 0, an NVMe status or -errno
 * ({@link NvmeStatus}); {@code dw0} is completion dword 0 (command specific). Implementations must not allocate.
 */
@FunctionalInterface
public interface NvmeCompletion {
    void onComplete(Object arg, int status, int dw0);
}
