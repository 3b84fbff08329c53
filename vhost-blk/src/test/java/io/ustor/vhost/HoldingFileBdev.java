package io.ustor.vhost;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.Mman;
import io.ustor.env.Posix;
import io.ustor.reactor.Reactor;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A test bdev over a shared file mapping (its data outlives the process) that can be told to hold I/O: once
 * {@link #hold} is called, requests are parked, neither applied nor completed, so a process killed then leaves
 * them undone. A write takes effect only when it completes.
 */
final class HoldingFileBdev extends Bdev {
    private final MemorySegment data;
    private final List<BdevIo> held = new ArrayList<>();
    private volatile int holdReport = -1;
    private final Runnable onHeld;

    HoldingFileBdev(String name, Path file, long numBlocks, int blockSize, Runnable onHeld) {
        super(name, numBlocks, blockSize, null);
        int fd = Posix.open(file.toString(), Posix.O_RDWR, 0);
        try {
            data = Mman.mmap(MemorySegment.NULL, numBlocks * blockSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        } finally {
            Posix.closeRaw(fd);
        }
        this.onHeld = onHeld;
    }

    /** From now on park every request; call {@code onHeld} when {@code count} are parked. */
    void hold(int count) {
        holdReport = count;
    }

    @Override
    public String productName() {
        return "Holding file disk";
    }

    @Override
    public String moduleName() {
        return "test_holding";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return type == IoType.READ || type == IoType.WRITE || type == IoType.FLUSH;
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
        if (holdReport >= 0) {
            held.add(io);
            if (held.size() == holdReport) {
                onHeld.run();
            }
            return;
        }
        long off = io.offsetBlocks() * blockSize();
        switch (io.type()) {
            case READ -> io.copyIntoIovs(data, off);
            case WRITE -> io.copyFromIovs(data, off);
            default -> { }
        }
        io.complete(BdevIoStatus.SUCCESS);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        return CompletableFuture.completedFuture(null);
    }
}
