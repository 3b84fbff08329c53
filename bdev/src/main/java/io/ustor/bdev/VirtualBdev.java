package io.ustor.bdev;

import java.util.UUID;

/**
 * A bdev made over another one (delay, split): what the base can do and how it wants its I/O (supported types,
 * transfer limits, alignment, physical blocks, write cache) is what this one reports.
 */
public abstract class VirtualBdev extends Bdev {
    private final Bdev base;

    protected VirtualBdev(String name, Bdev base, long numBlocks, UUID uuidOrNull) {
        super(name, numBlocks, base.blockSize(), uuidOrNull);
        this.base = base;
    }

    public final Bdev base() {
        return base;
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return base.supportsIoType(type);
    }

    @Override
    public int physicalBlockSize() {
        return base.physicalBlockSize();
    }

    @Override
    public int maxTransferBlocks() {
        return base.maxTransferBlocks();
    }

    @Override
    public int optimalIoBoundaryBlocks() {
        return base.optimalIoBoundaryBlocks();
    }

    @Override
    public int requiredAlignment() {
        return base.requiredAlignment();
    }

    @Override
    public boolean writeCache() {
        return base.writeCache();
    }
}
