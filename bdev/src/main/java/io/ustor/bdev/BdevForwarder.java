package io.ustor.bdev;

/**
 * What a virtual bdev over a base bdev (delay, split, error) does with a request: submit the same operation to the
 * base, {@code offsetBlocks} further on, and finish the request from the base's outcome. Allocation-free.
 */
public final class BdevForwarder {
    private BdevForwarder() {
    }

    /** Submits {@code io} to {@code base} at {@code io.offsetBlocks() + shiftBlocks}; 0 or -errno (-ENOMEM: retry). */
    public static int forward(BdevDesc base, BdevChannel ch, BdevIo io, long shiftBlocks, BdevIoCallback cb) {
        long off = io.offsetBlocks() + shiftBlocks;
        return switch (io.type()) {
            case READ -> base.readv(ch, io.iovs(), io.iovOffsets(), io.iovLengths(), io.iovCount(), off,
                    io.numBlocks(), cb, io);
            case WRITE -> base.writev(ch, io.iovs(), io.iovOffsets(), io.iovLengths(), io.iovCount(), off,
                    io.numBlocks(), cb, io);
            case COMPARE -> base.comparev(ch, io.iovs(), io.iovOffsets(), io.iovLengths(), io.iovCount(), off,
                    io.numBlocks(), cb, io);
            case FLUSH -> base.flush(ch, off, io.numBlocks(), cb, io);
            case UNMAP -> base.unmap(ch, off, io.numBlocks(), cb, io);
            case WRITE_ZEROES -> base.writeZeroes(ch, off, io.numBlocks(), cb, io);
            case RESET -> base.reset(ch, cb, io);
        };
    }

    /** Finishes {@code io} as its base request {@code baseIo} ended: same status, same errno on failure. */
    public static void completeAs(BdevIo io, BdevIo baseIo) {
        if (baseIo.status() == BdevIoStatus.FAILED) {
            io.completeErrno(baseIo.errno());
        } else {
            io.complete(baseIo.status());
        }
    }
}
