package io.ustor.bdev;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/**
 * Keeps {@code depth} I/Os in flight on one channel until {@code total} have completed, alternating reads and writes
 * at pseudo-random offsets; runs entirely on the channel's reactor and allocates nothing per I/O (one object as the
 * callback for every io, buffers made up front).
 */
final class IoDriver implements BdevIoCallback {
    private final BdevDesc desc;
    private final BdevChannel ch;
    private final MemorySegment[] bufs;
    private final long blocks;
    private final long ioBlocks;
    private long total;
    private long submitted, completed, failed;
    private long seed = 0x9E3779B97F4A7C15L;
    private CompletableFuture<Long> done;

    IoDriver(BdevDesc desc, BdevChannel ch, MemorySegment[] bufs, long ioBlocks) {
        this.desc = desc;
        this.ch = ch;
        this.bufs = bufs;
        this.blocks = desc.bdev().numBlocks();
        this.ioBlocks = ioBlocks;
    }

    /** Call on the channel's reactor; the future completes there with the number of failed ios. */
    CompletableFuture<Long> start(long total) {
        this.total = total;
        submitted = completed = failed = 0;
        done = new CompletableFuture<>();
        for (int i = 0; i < bufs.length && submitted < total; i++) {
            submitOne(i);
        }
        return done;
    }

    private void submitOne(int slot) {
        seed = seed * 6364136223846793005L + 1442695040888963407L;
        long offset = ((seed >>> 17) % (blocks / ioBlocks)) * ioBlocks;
        int rc = (submitted & 1) == 0
                ? desc.read(ch, bufs[slot], offset, ioBlocks, this, null)
                : desc.write(ch, bufs[slot], offset, ioBlocks, this, null);
        if (rc != 0) {
            throw new IllegalStateException("submit failed: " + rc);
        }
        submitted++;
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        completed++;
        if (!success) {
            failed++;
        }
        if (submitted < total) {
            // any free buffer slot will do: the io that just finished used one; reuse slot by count
            submitOne((int) (submitted % bufs.length));
        } else if (completed == total) {
            done.complete(failed);
        }
    }
}
