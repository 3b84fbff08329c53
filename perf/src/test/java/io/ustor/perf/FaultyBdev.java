package io.ustor.perf;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.reactor.Reactor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;

/**
 * A RAM bdev with injected faults (like SPDK's error bdev): reads of {@code corruptBlock} come back with one byte
 * flipped, and any I/O touching {@code failBlock} fails. -1 disables either.
 */
final class FaultyBdev extends Bdev {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;
    private final long corruptBlock;
    private final long failBlock;

    FaultyBdev(String name, long numBlocks, int blockSize, long corruptBlock, long failBlock) {
        super(name, numBlocks, blockSize, null);
        this.data = arena.allocate(numBlocks * blockSize, 4096);
        this.corruptBlock = corruptBlock;
        this.failBlock = failBlock;
    }

    @Override
    public String productName() {
        return "Faulty disk";
    }

    @Override
    public String moduleName() {
        return "faulty";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return type == IoType.READ || type == IoType.WRITE;
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        return this;
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        long first = io.offsetBlocks(), end = first + io.numBlocks();
        if (failBlock >= first && failBlock < end) {
            io.complete(BdevIoStatus.FAILED);
            return;
        }
        long at = first * blockSize();
        if (io.type() == IoType.WRITE) {
            io.copyFromIovs(data, at);
        } else {
            io.copyIntoIovs(data, at);
            if (corruptBlock >= first && corruptBlock < end) {
                long off = (corruptBlock - first) * blockSize() + 100;
                MemorySegment iov = io.iov(0);
                long base = io.iovOffset(0);
                iov.set(ValueLayout.JAVA_BYTE, base + off, (byte) ~iov.get(ValueLayout.JAVA_BYTE, base + off));
            }
        }
        io.complete(BdevIoStatus.SUCCESS);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        arena.close();
        return CompletableFuture.completedFuture(null);
    }
}
