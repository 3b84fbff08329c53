package io.ustor.vhost;

import io.ustor.reactor.CoreMask;

import java.nio.file.Path;

/**
 * A vhost-user-blk controller as SPDK's {@code vhost_create_blk_controller} describes it.
 *
 * @param ctrlr      controller name; also the socket file name in {@code socketDir}
 * @param socketDir  directory of the sockets (SPDK's {@code -S})
 * @param devName    the bdev to serve
 * @param cpumask    reactors that may run its queues (null: all)
 * @param readOnly   offer VIRTIO_BLK_F_RO and fail writes
 * @param packedRing SPDK's packed_ring option: offer VIRTIO_F_RING_PACKED (the driver may still choose split)
 * @param maxQueues  queues offered (GET_QUEUE_NUM / num_queues)
 */
public record VhostBlkOptions(String ctrlr, Path socketDir, String devName, CoreMask cpumask, boolean readOnly,
                              boolean packedRing, int maxQueues) {
    public static final int DEFAULT_MAX_QUEUES = 16;

    public VhostBlkOptions {
        if (ctrlr == null || ctrlr.isEmpty() || ctrlr.contains("/")) {
            throw new IllegalArgumentException("controller name must be a non-empty file name: " + ctrlr);
        }
        if (maxQueues < 1 || maxQueues > 256) {
            throw new IllegalArgumentException("vhost " + ctrlr + ": max queues " + maxQueues + " outside 1..256");
        }
    }

    public static VhostBlkOptions of(String ctrlr, Path socketDir, String devName) {
        return new VhostBlkOptions(ctrlr, socketDir, devName, null, false, false, DEFAULT_MAX_QUEUES);
    }

    public VhostBlkOptions withReadOnly(boolean ro) {
        return new VhostBlkOptions(ctrlr, socketDir, devName, cpumask, ro, packedRing, maxQueues);
    }

    public VhostBlkOptions withCpumask(CoreMask mask) {
        return new VhostBlkOptions(ctrlr, socketDir, devName, mask, readOnly, packedRing, maxQueues);
    }

    public VhostBlkOptions withMaxQueues(int n) {
        return new VhostBlkOptions(ctrlr, socketDir, devName, cpumask, readOnly, packedRing, n);
    }

    public VhostBlkOptions withPackedRing(boolean packed) {
        return new VhostBlkOptions(ctrlr, socketDir, devName, cpumask, readOnly, packed, maxQueues);
    }

    public Path socketPath() {
        return socketDir.resolve(ctrlr);
    }
}
