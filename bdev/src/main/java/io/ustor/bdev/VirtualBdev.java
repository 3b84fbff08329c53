package io.ustor.bdev;

import java.util.UUID;

/**
 * A bdev made over another one (delay, split, error): what the base can do and how it wants its I/O (supported types,
 * transfer limits, alignment, physical blocks, write cache) is what this one reports.
 */
public abstract class VirtualBdev extends Bdev {
    private static final System.Logger LOG = System.getLogger(VirtualBdev.class.getName());
    private final Bdev base;

    protected VirtualBdev(String name, Bdev base, long numBlocks, UUID uuidOrNull) {
        super(name, numBlocks, base.blockSize(), uuidOrNull);
        this.base = base;
    }

    /**
     * Opens {@code baseName} for writing and claims it for {@code module}; {@code onRemove} runs when the base is
     * going away (the virtual bdevs over it unregister themselves). ENODEV: no such bdev; EPERM: claimed already.
     * The base is {@link BdevDesc#bdev()}; close the descriptor to release it.
     */
    public static BdevDesc openAndClaim(BdevRegistry registry, String baseName, String module, Runnable onRemove) {
        if (registry.lookup(baseName) == null) {
            throw new BdevException(io.ustor.env.Errno.ENODEV, module + ": base bdev " + baseName + " not found");
        }
        BdevDesc desc = registry.open(baseName, true, (type, d) -> {
            if (type == BdevEventType.REMOVE) {
                LOG.log(System.Logger.Level.INFO, "{0}: base bdev {1} is going away", module, baseName);
                onRemove.run();
            }
        });
        try {
            desc.claim(module);
            return desc;
        } catch (RuntimeException e) {
            desc.close();
            throw e;
        }
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
