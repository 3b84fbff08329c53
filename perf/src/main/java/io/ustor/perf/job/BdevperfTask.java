package io.ustor.perf.job;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoWaitEntry;
import io.ustor.bdev.IoType;

import java.lang.foreign.MemorySegment;

/**
 * One queue slot of a job: its buffers, the I/O it has in flight, and the completion callback for it. The task
 * object itself is the callback, so no lambda is made per I/O.
 */
final class BdevperfTask implements BdevIoCallback, BdevIoWaitEntry {
    final BdevperfJob job;
    /** Data for reads and writes; for verify, the pattern that was written. */
    final MemorySegment buf;
    /** Verify only: where the read-back lands. */
    final MemorySegment readBuf;
    IoType type;
    long offsetBlocks;
    long submitNanos;
    /** Verify: the write is done and the read-back is the I/O in flight. */
    boolean readingBack;

    BdevperfTask(BdevperfJob job, MemorySegment buf, MemorySegment readBuf) {
        this.job = job;
        this.buf = buf;
        this.readBuf = readBuf;
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        job.onComplete(this, success);
    }

    @Override
    public void onRetry() {
        job.submit(this);
    }
}
