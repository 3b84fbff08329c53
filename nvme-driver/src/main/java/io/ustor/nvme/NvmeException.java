package io.ustor.nvme;

/** A control-plane NVMe command failed; the message names the command, the controller and the decoded status. */
public final class NvmeException extends RuntimeException {
    private final int status;

    public NvmeException(String message, int status) {
        super(message + ": " + NvmeStatus.name(status));
        this.status = status;
    }

    /** The driver status ({@link NvmeStatus}). */
    public int status() {
        return status;
    }
}
