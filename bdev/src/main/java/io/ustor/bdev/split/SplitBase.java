package io.ustor.bdev.split;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.VirtualBdev;
import io.ustor.env.Errno;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A base bdev claimed by the split module and the parts cut from it (SPDK's bdev_split_create): part i is
 * {@code <base>p<i>}, {@code splitSizeMb} MiB (or an equal share of the base when 0) starting where part i-1 ends.
 * The parts go away together: by {@link #delete}, or when the base bdev is removed. The base is released once the
 * last part has been destructed.
 */
public final class SplitBase {
    private static final System.Logger LOG = System.getLogger(SplitBase.class.getName());
    private static final long MIB = 1024 * 1024;

    private final BdevRegistry registry;
    private final BdevDesc desc;
    private final Bdev base;
    private final int splitCount;
    private final long splitSizeMb;
    private final List<SplitBdev> parts = new ArrayList<>();
    private int live;

    private SplitBase(BdevRegistry registry, BdevDesc desc, int splitCount, long splitSizeMb) {
        this.registry = registry;
        this.desc = desc;
        this.base = desc.bdev();
        this.splitCount = splitCount;
        this.splitSizeMb = splitSizeMb;
    }

    /**
     * Claims {@code baseName} and registers its parts. ENODEV: no such bdev; EPERM: claimed by another module;
     * EINVAL: a size that is not a whole number of blocks, or larger than the base; EEXIST: a part's name is taken.
     * Like SPDK, asks for more parts than fit are clamped to what fits.
     */
    public static SplitBase create(BdevRegistry registry, String baseName, int splitCount, long splitSizeMb) {
        if (splitCount <= 0) {
            throw new BdevException(Errno.EINVAL, "split: split_count must be at least 1, not " + splitCount);
        }
        SplitBase[] self = new SplitBase[1];
        BdevDesc desc = VirtualBdev.openAndClaim(registry, baseName, "split", () -> {
            if (self[0] != null) {
                self[0].delete();
            }
        });
        SplitBase s = new SplitBase(registry, desc, splitCount, splitSizeMb);
        self[0] = s;
        try {
            s.registerParts();
        } catch (RuntimeException e) {
            s.delete();
            if (s.parts().isEmpty()) {
                desc.close();
            }
            throw e;
        }
        return s;
    }

    /** Cuts the claimed base into parts and registers them. */
    private void registerParts() {
        String baseName = base.name();
        long partBlocks;
        if (splitSizeMb > 0) {
            if (splitSizeMb > Long.MAX_VALUE / MIB || splitSizeMb * MIB % base.blockSize() != 0) {
                throw new BdevException(Errno.EINVAL, "split: " + splitSizeMb + " MiB is not a whole number of "
                        + base.blockSize() + "-byte blocks");
            }
            partBlocks = splitSizeMb * MIB / base.blockSize();
        } else {
            partBlocks = base.numBlocks() / splitCount;
        }
        if (partBlocks == 0 || partBlocks > base.numBlocks()) {
            throw new BdevException(Errno.EINVAL, "split: parts of " + partBlocks + " blocks do not fit " + baseName
                    + " (" + base.numBlocks() + " blocks)");
        }
        int count = (int) Math.min(splitCount, base.numBlocks() / partBlocks);
        if (count < splitCount) {
            LOG.log(System.Logger.Level.WARNING, "split {0}: {1} parts asked, {2} fit", baseName, splitCount, count);
        }
        for (int i = 0; i < count; i++) {
            if (registry.lookup(baseName + "p" + i) != null) {
                throw new BdevException(Errno.EEXIST, "split: bdev " + baseName + "p" + i + " exists already");
            }
        }
        for (int i = 0; i < count; i++) {
            SplitBdev part = new SplitBdev(this, baseName + "p" + i, i * partBlocks, partBlocks);
            registry.register(part);
            synchronized (this) {
                parts.add(part);
                live++;
            }
        }
    }

    public Bdev base() {
        return base;
    }

    BdevDesc desc() {
        return desc;
    }

    /** split_count as asked (save_config writes it back). */
    public int splitCount() {
        return splitCount;
    }

    /** split_size_mb as asked; 0 for equal shares. */
    public long splitSizeMb() {
        return splitSizeMb;
    }

    public synchronized List<SplitBdev> parts() {
        return List.copyOf(parts);
    }

    /** Unregisters every part (bdev_split_delete); completes once they are gone and the base is released. */
    public CompletableFuture<Void> delete() {
        List<CompletableFuture<Void>> gone = new ArrayList<>();
        for (SplitBdev p : parts()) {
            if (registry.lookup(p.name()) == p) {
                gone.add(registry.unregister(p.name()));
            }
        }
        return CompletableFuture.allOf(gone.toArray(new CompletableFuture[0]));
    }

    /** A part was destructed: the last one gives the base back. */
    void partGone() {
        boolean last;
        synchronized (this) {
            last = --live == 0;
        }
        if (last) {
            desc.close();
        }
    }
}
