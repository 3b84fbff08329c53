package io.ustor.perf.job;

import io.ustor.perf.Workload;

/**
 * What one bdevperf job does: which bdev, on which reactor, with which pattern over which slice of the bdev.
 *
 * @param reactorIndex index in the ReactorGroup
 * @param offsetBlocks first block of the slice (SPDK's -C splits a bdev between cores)
 * @param lengthBlocks blocks in the slice; 0 = to the end of the bdev
 */
public record JobSpec(String bdevName, int reactorIndex, Workload workload, int ioSize, int queueDepth,
                      int readPercentage, long offsetBlocks, long lengthBlocks, long timeNanos,
                      boolean continueOnFailure, long seed) {
}
