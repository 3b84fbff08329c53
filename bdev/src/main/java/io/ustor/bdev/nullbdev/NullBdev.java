package io.ustor.bdev.nullbdev;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A bdev that stores nothing (SPDK's null bdev): writes are discarded, reads succeed without touching the buffer. For
 * measuring the layers above a device. Create with {@link #create}, then register.
 */
public final class NullBdev extends Bdev {
    public static final String PRODUCT_NAME = "Null disk";

    private final int physicalBlockSize;

    private NullBdev(String name, long numBlocks, int blockSize, UUID uuid, int physicalBlockSize) {
        super(name, numBlocks, blockSize, uuid);
        this.physicalBlockSize = physicalBlockSize;
    }

    /** SPDK's bdev_null_create: block size a multiple of 512 (up to 64 KiB), at least one block. */
    public static NullBdev create(String name, long numBlocks, int blockSize, UUID uuidOrNull) {
        return create(name, numBlocks, blockSize, uuidOrNull, 0);
    }

    /**
     * As {@link #create(String, long, int, UUID)}, with SPDK's physical_block_size (0 = the block size): a power of
     * two and a multiple of the block size, only reported (as malloc's is).
     */
    public static NullBdev create(String name, long numBlocks, int blockSize, UUID uuidOrNull, int physicalBlockSize) {
        if (blockSize < 512 || blockSize > 65536 || blockSize % 512 != 0) {
            throw new BdevException(Errno.EINVAL, "bdev " + name + ": block_size " + blockSize
                    + " must be a multiple of 512 between 512 and 65536");
        }
        if (numBlocks <= 0 || numBlocks > Long.MAX_VALUE / blockSize) {
            throw new BdevException(Errno.EINVAL, "bdev " + name + ": bad num_blocks " + numBlocks);
        }
        int pbs = physicalBlockSize;
        if (pbs != 0 && (Integer.bitCount(pbs) != 1 || pbs < blockSize || pbs % blockSize != 0)) {
            throw new BdevException(Errno.EINVAL, "bdev " + name + ": physical_block_size " + pbs
                    + " must be a power of two and a multiple of the block size " + blockSize);
        }
        return new NullBdev(name, numBlocks, blockSize, uuidOrNull, pbs == 0 ? blockSize : pbs);
    }

    @Override
    public int physicalBlockSize() {
        return physicalBlockSize;
    }

    /** SPDK's bdev_null_resize: changes the size (in blocks) and tells open descriptors. */
    public void resizeTo(long numBlocks) {
        resize(numBlocks);
    }

    @Override
    public String productName() {
        return PRODUCT_NAME;
    }

    @Override
    public String moduleName() {
        return "null";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return switch (type) {
            case READ, WRITE, WRITE_ZEROES, RESET -> true;
            case FLUSH, UNMAP, COMPARE -> false;
        };
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
        io.complete(BdevIoStatus.SUCCESS);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        return CompletableFuture.completedFuture(null);
    }
}
