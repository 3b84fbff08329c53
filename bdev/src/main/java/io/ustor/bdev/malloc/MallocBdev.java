package io.ustor.bdev.malloc;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A RAM disk (SPDK's malloc bdev): its blocks live in {@link DmaMemory} (huge pages when there are any, else ordinary
 * locked memory, which is fine for RAM use). Reads and writes are memory copies on the submitting reactor, unmap and
 * write_zeroes fill zeroes, flush and reset do nothing. Memory comes in one piece when it can, else in 64 MiB chunks.
 * Create with {@link #create}, then {@link io.ustor.bdev.BdevRegistry#register}; unregistering frees the memory.
 */
public final class MallocBdev extends Bdev {
    private static final System.Logger LOG = System.getLogger(MallocBdev.class.getName());
    public static final String PRODUCT_NAME = "Malloc disk";
    static final int CHUNK_SHIFT = 26; // 64 MiB
    /** Source of zeroes for unmap and write_zeroes (copying from it needs no slice, unlike fill). */
    private static final MemorySegment ZEROES = Arena.global().allocate(1 << 20, 4096);

    private final List<DmaBuffer> buffers;
    private final MemorySegment[] chunks;
    private final int chunkShift;
    private final long chunkMask;
    private final int optimalIoBoundary;
    private final int maxTransfer;
    private final int physicalBlockSize;

    /**
     * Everything a malloc bdev is made from.
     *
     * @param uuid                  null for a random one
     * @param optimalIoBoundaryBlocks SPDK's optimal_io_boundary (0 = none): the layer splits I/O at multiples of it
     * @param maxTransferBlocks     largest I/O passed to the module (0 = unlimited); the layer splits larger ones
     * @param memory                where the blocks live; null = {@link DmaMemory#get()}
     * @param physicalBlockSize     SPDK's physical_block_size (0 = the block size): only reported
     */
    public record Options(String name, long numBlocks, int blockSize, UUID uuid, int optimalIoBoundaryBlocks,
                          int maxTransferBlocks, DmaMemory memory, int physicalBlockSize) {
        public Options(String name, long numBlocks, int blockSize, UUID uuid) {
            this(name, numBlocks, blockSize, uuid, 0, 0, null, 0);
        }

        public Options withOptimalIoBoundaryBlocks(int n) {
            return new Options(name, numBlocks, blockSize, uuid, n, maxTransferBlocks, memory, physicalBlockSize);
        }

        public Options withMaxTransferBlocks(int n) {
            return new Options(name, numBlocks, blockSize, uuid, optimalIoBoundaryBlocks, n, memory, physicalBlockSize);
        }

        public Options withMemory(DmaMemory m) {
            return new Options(name, numBlocks, blockSize, uuid, optimalIoBoundaryBlocks, maxTransferBlocks, m,
                    physicalBlockSize);
        }

        public Options withPhysicalBlockSize(int bytes) {
            return new Options(name, numBlocks, blockSize, uuid, optimalIoBoundaryBlocks, maxTransferBlocks, memory,
                    bytes);
        }
    }

    private MallocBdev(Options o, List<DmaBuffer> buffers, MemorySegment[] chunks, int chunkShift) {
        super(o.name(), o.numBlocks(), o.blockSize(), o.uuid());
        this.buffers = buffers;
        this.chunks = chunks;
        this.chunkShift = chunkShift;
        this.chunkMask = chunkShift >= 63 ? -1L : (1L << chunkShift) - 1;
        this.optimalIoBoundary = o.optimalIoBoundaryBlocks();
        this.maxTransfer = o.maxTransferBlocks();
        this.physicalBlockSize = o.physicalBlockSize() == 0 ? o.blockSize() : o.physicalBlockSize();
    }

    /** A malloc bdev in the process's DMA memory (SPDK's bdev_malloc_create with num_blocks and block_size). */
    public static MallocBdev create(String name, long numBlocks, int blockSize, UUID uuidOrNull) {
        return create(new Options(name, numBlocks, blockSize, uuidOrNull));
    }

    /** A malloc bdev in {@code memory}. */
    public static MallocBdev create(String name, long numBlocks, int blockSize, UUID uuidOrNull, DmaMemory memory) {
        return create(new Options(name, numBlocks, blockSize, uuidOrNull).withMemory(memory));
    }

    public static MallocBdev create(Options o) {
        checkGeometry(o.name(), o.numBlocks(), o.blockSize());
        int pbs = o.physicalBlockSize();
        if (pbs != 0 && (Integer.bitCount(pbs) != 1 || pbs < o.blockSize() || pbs % o.blockSize() != 0)) {
            throw new BdevException(Errno.EINVAL, "bdev " + o.name() + ": physical_block_size " + pbs
                    + " must be a power of two and a multiple of the block size " + o.blockSize());
        }
        if (o.optimalIoBoundaryBlocks() < 0 || o.maxTransferBlocks() < 0) {
            throw new BdevException(Errno.EINVAL, "bdev " + o.name() + ": optimal_io_boundary and max transfer must be >= 0");
        }
        DmaMemory memory = o.memory() != null ? o.memory() : DmaMemory.get();
        long bytes = o.numBlocks() * o.blockSize();
        List<DmaBuffer> buffers = new ArrayList<>();
        MemorySegment[] chunks;
        int shift;
        try {
            DmaBuffer whole = tryAllocate(memory, bytes);
            if (whole != null) {
                buffers.add(whole);
                chunks = new MemorySegment[]{whole.segment()};
                shift = 63;
            } else {
                long chunk = 1L << CHUNK_SHIFT;
                int n = Math.toIntExact((bytes + chunk - 1) / chunk);
                chunks = new MemorySegment[n];
                for (int i = 0; i < n; i++) {
                    DmaBuffer b = memory.allocate(Math.min(chunk, bytes - (long) i * chunk));
                    buffers.add(b);
                    chunks[i] = b.segment();
                }
                shift = CHUNK_SHIFT;
                LOG.log(System.Logger.Level.INFO, "bdev {0}: {1} bytes in {2} chunks of 64 MiB", o.name(),
                        Long.toString(bytes), Integer.toString(n));
            }
        } catch (RuntimeException e) {
            buffers.forEach(DmaBuffer::free);
            throw new BdevException(Errno.ENOMEM, "bdev " + o.name() + ": cannot allocate " + bytes + " bytes: " + e.getMessage(), e);
        }
        for (MemorySegment c : chunks) {
            c.fill((byte) 0); // memory may be reused from a deleted bdev
        }
        return new MallocBdev(o, buffers, chunks, shift);
    }

    private static DmaBuffer tryAllocate(DmaMemory memory, long bytes) {
        try {
            return memory.allocate(bytes);
        } catch (IllegalStateException e) {
            return null;
        }
    }

    /** SPDK's rule: block size a multiple of 512 (512 .. 64 KiB here), and at least one block. */
    static void checkGeometry(String name, long numBlocks, int blockSize) {
        if (blockSize < 512 || blockSize > 65536 || blockSize % 512 != 0) {
            throw new BdevException(Errno.EINVAL, "bdev " + name + ": block_size " + blockSize
                    + " must be a multiple of 512 between 512 and 65536");
        }
        if (numBlocks <= 0) {
            throw new BdevException(Errno.EINVAL, "bdev " + name + ": num_blocks must be > 0, not " + numBlocks);
        }
        if (numBlocks > Long.MAX_VALUE / blockSize) {
            throw new BdevException(Errno.EINVAL, "bdev " + name + ": " + numBlocks + " blocks of " + blockSize + " bytes is too large");
        }
    }

    @Override
    public String productName() {
        return PRODUCT_NAME;
    }

    @Override
    public String moduleName() {
        return "malloc";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return switch (type) {
            case READ, WRITE, FLUSH, UNMAP, WRITE_ZEROES, RESET, COMPARE -> true;
        };
    }

    @Override
    public int optimalIoBoundaryBlocks() {
        return optimalIoBoundary;
    }

    @Override
    public int physicalBlockSize() {
        return physicalBlockSize;
    }

    @Override
    public int maxTransferBlocks() {
        return maxTransfer;
    }

    /** Whether every chunk is DMA-capable memory. */
    public boolean dmaCapable() {
        for (DmaBuffer b : buffers) {
            if (!b.dmaCapable()) {
                return false;
            }
        }
        return true;
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        return this; // memory copies need no per-reactor state
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        switch (io.type()) {
            case READ -> {
                copy(io, true);
                io.complete(BdevIoStatus.SUCCESS);
            }
            case WRITE -> {
                copy(io, false);
                io.complete(BdevIoStatus.SUCCESS);
            }
            case COMPARE -> io.complete(same(io) ? BdevIoStatus.SUCCESS : BdevIoStatus.MISCOMPARE);
            case UNMAP, WRITE_ZEROES -> {
                zero(io.offsetBlocks() * blockSize(), io.numBlocks() * blockSize());
                io.complete(BdevIoStatus.SUCCESS);
            }
            case FLUSH, RESET -> io.complete(BdevIoStatus.SUCCESS);
        }
    }

    private void copy(BdevIo io, boolean read) {
        long pos = io.offsetBlocks() * blockSize();
        int count = io.iovCount();
        for (int i = 0; i < count; i++) {
            MemorySegment seg = io.iov(i);
            long off = io.iovOffset(i);
            long len = io.iovLength(i);
            while (len > 0) {
                MemorySegment chunk = chunks[(int) (pos >>> chunkShift)];
                long co = pos & chunkMask;
                long n = Math.min(len, chunk.byteSize() - co);
                if (read) {
                    MemorySegment.copy(chunk, co, seg, off, n);
                } else {
                    MemorySegment.copy(seg, off, chunk, co, n);
                }
                pos += n;
                off += n;
                len -= n;
            }
        }
    }

    private boolean same(BdevIo io) {
        long pos = io.offsetBlocks() * blockSize();
        int count = io.iovCount();
        for (int i = 0; i < count; i++) {
            MemorySegment seg = io.iov(i);
            long off = io.iovOffset(i);
            long len = io.iovLength(i);
            while (len > 0) {
                MemorySegment chunk = chunks[(int) (pos >>> chunkShift)];
                long co = pos & chunkMask;
                long n = Math.min(len, chunk.byteSize() - co);
                if (MemorySegment.mismatch(chunk, co, co + n, seg, off, off + n) >= 0) {
                    return false;
                }
                pos += n;
                off += n;
                len -= n;
            }
        }
        return true;
    }

    private void zero(long pos, long len) {
        while (len > 0) {
            MemorySegment chunk = chunks[(int) (pos >>> chunkShift)];
            long co = pos & chunkMask;
            long n = Math.min(Math.min(len, chunk.byteSize() - co), ZEROES.byteSize());
            MemorySegment.copy(ZEROES, 0, chunk, co, n);
            pos += n;
            len -= n;
        }
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        for (DmaBuffer b : buffers) {
            b.free();
        }
        LOG.log(System.Logger.Level.INFO, "bdev {0}: memory freed", name());
        return CompletableFuture.completedFuture(null);
    }
}
