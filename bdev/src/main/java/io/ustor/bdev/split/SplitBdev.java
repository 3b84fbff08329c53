package io.ustor.bdev.split;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.VirtualBdev;
import io.ustor.reactor.Reactor;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** One part of a {@link SplitBase}: its blocks are the base's from {@code offsetBlocks} on. */
public final class SplitBdev extends VirtualBdev {
    private final SplitBase split;
    private final long offsetBlocks;

    SplitBdev(SplitBase split, String name, long offsetBlocks, long numBlocks) {
        super(name, split.base(), numBlocks, null);
        this.split = split;
        this.offsetBlocks = offsetBlocks;
    }

    public SplitBase split() {
        return split;
    }

    public long offsetBlocks() {
        return offsetBlocks;
    }

    @Override
    public String productName() {
        return "Split Disk";
    }

    @Override
    public String moduleName() {
        return "split";
    }

    @Override
    public Map<String, Object> driverSpecific() {
        return Map.of("split", Map.of("base_bdev", split.base().name(), "offset_blocks", offsetBlocks));
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        return new SplitChannel(split.desc(), offsetBlocks);
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        ((SplitChannel) moduleChannel).close();
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        ((SplitChannel) moduleChannel).submit(io);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        split.partGone();
        return CompletableFuture.completedFuture(null);
    }
}
