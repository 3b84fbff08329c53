package io.ustor.bdev.aio;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.reactor.Reactor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bdev over a file or a block device (SPDK's aio bdev, {@code bdev_aio_create}), opened with O_DIRECT and driven by
 * io_uring, or by Linux AIO where io_uring is unavailable ({@link FileEngine}). Each reactor that uses it gets its own
 * queue and a poller that reaps completions on that reactor.
 *
 * <p>Block size: a block device's logical block size (BLKSSZGET), or the one given; a file's is the one given, else
 * 512 (or the file system's O_DIRECT offset alignment when that is larger). Size: the file's size, or the device's
 * (BLKGETSIZE64), rounded down to whole blocks. Flush is fdatasync; with {@code fallocate} on, unmap punches a hole
 * and write_zeroes zeroes the range (fallocate(2)); without it the layer emulates write_zeroes with writes, as SPDK
 * does. Where O_DIRECT is refused (tmpfs) the file is used through the page cache, and a log line says so. Buffers
 * O_DIRECT cannot take (misaligned, or more than 32 pieces) are copied through a per-channel aligned buffer.
 */
public final class AioBdev extends Bdev {
    private static final System.Logger LOG = System.getLogger(AioBdev.class.getName());
    public static final String PRODUCT_NAME = "AIO disk";
    public static final String MODULE_NAME = "aio";
    /** Largest request passed to a channel; the layer splits larger ones (it is also the bounce buffer size). */
    static final int MAX_TRANSFER_BYTES = 1 << 20;

    /**
     * SPDK's bdev_aio_create parameters, plus the engine.
     *
     * @param blockSize 0 = detect (block device) or 512 (file)
     * @param readonly  open read-only; writes, unmap and write_zeroes are not supported
     * @param fallocate support unmap and write_zeroes with fallocate(2)
     * @param uuid      null for a random one
     */
    public record Options(String name, String filename, int blockSize, boolean readonly, boolean fallocate, UUID uuid,
                          FileEngine engine) {
        /** SPDK's defaults: read-write, no fallocate, random UUID, engine from {@value FileEngine#PROPERTY}. */
        public Options(String name, String filename, int blockSize) {
            this(name, filename, blockSize, false, false, null, FileEngine.fromSystemProperty());
        }

        public Options withReadonly(boolean b) {
            return new Options(name, filename, blockSize, b, fallocate, uuid, engine);
        }

        public Options withFallocate(boolean b) {
            return new Options(name, filename, blockSize, readonly, b, uuid, engine);
        }

        public Options withUuid(UUID u) {
            return new Options(name, filename, blockSize, readonly, fallocate, u, engine);
        }

        public Options withEngine(FileEngine e) {
            return new Options(name, filename, blockSize, readonly, fallocate, uuid, e);
        }
    }

    private final Options options;
    private final int fd;
    private final boolean directIo;
    private final boolean blockDevice;
    private final int memoryAlignment;
    private final FileEngine engine;
    private volatile boolean destructed;
    /** I/Os copied through a bounce buffer, all channels (counted only when it happens). */
    final LongAdder bounced = new LongAdder();

    private AioBdev(Options o, long numBlocks, int blockSize, int fd, boolean directIo, boolean blockDevice,
                    int memoryAlignment, FileEngine engine) {
        super(o.name(), numBlocks, blockSize, o.uuid());
        this.options = o;
        this.fd = fd;
        this.directIo = directIo;
        this.blockDevice = blockDevice;
        this.memoryAlignment = memoryAlignment;
        this.engine = engine;
    }

    /** SPDK's {@code bdev_aio_create name filename [block_size]}: read-write, without fallocate. */
    public static AioBdev create(String name, String filename, int blockSizeOr0) {
        return create(new Options(name, filename, blockSizeOr0));
    }

    /**
     * Opens the file and works out the geometry. Register the result with the registry.
     *
     * @throws BdevException naming the bdev, the file and the errno when it cannot be opened or used
     */
    public static AioBdev create(Options o) {
        String who = "bdev " + o.name();
        if (o.filename() == null || o.filename().isEmpty()) {
            throw new BdevException(Errno.EINVAL, who + ": filename is required");
        }
        int bs = o.blockSize();
        if (bs != 0 && (bs < 512 || bs > 65536 || Integer.bitCount(bs) != 1)) {
            throw new BdevException(Errno.EINVAL, who + ": block_size " + bs + " must be a power of two from 512 to 65536");
        }
        FileEngine engine = o.engine().resolve(who);
        int access = o.readonly() ? Posix.O_RDONLY : Posix.O_RDWR;
        int fd;
        boolean direct = true;
        try {
            fd = Posix.open(o.filename(), access | Posix.O_DIRECT | Posix.O_CLOEXEC);
        } catch (NativeException e) {
            if (e.errno() != Errno.EINVAL) {
                throw new BdevException(e.errno(), who + ": cannot open " + o.filename() + ": " + e.getMessage(), e);
            }
            // EINVAL from open with O_DIRECT: the file system has no direct I/O (tmpfs).
            try {
                fd = Posix.open(o.filename(), access | Posix.O_CLOEXEC);
            } catch (NativeException e2) {
                throw new BdevException(e2.errno(), who + ": cannot open " + o.filename() + ": " + e2.getMessage(), e2);
            }
            direct = false;
            LOG.log(System.Logger.Level.WARNING, "{0}: {1} refuses O_DIRECT (EINVAL); using buffered I/O through the "
                    + "page cache", who, o.filename());
        }
        try {
            return open(o, who, fd, direct, engine);
        } catch (RuntimeException e) {
            Posix.closeRaw(fd);
            throw e;
        }
    }

    private static AioBdev open(Options o, String who, int fd, boolean direct, FileEngine engine) {
        Posix.FileStat st;
        long size;
        int detected;
        try {
            st = Posix.fstat(fd);
            if (!st.isRegularFile() && !st.isBlockDevice()) {
                throw new BdevException(Errno.EINVAL, who + ": " + o.filename() + " is neither a regular file nor a block device");
            }
            size = Posix.size(fd);
            detected = st.isBlockDevice() ? Posix.logicalBlockSize(fd) : 0;
        } catch (NativeException e) {
            throw new BdevException(e.errno(), who + ": " + o.filename() + ": " + e.getMessage(), e);
        }
        DirectIoAlignment dio = direct ? DirectIoAlignment.of(fd) : null;
        int offsetAlign = !direct ? 1 : dio != null && dio.offset() > 0 ? dio.offset() : Math.max(detected, 512);
        int memAlign = !direct ? 1 : dio != null && dio.memory() > 0 ? dio.memory() : Math.max(detected, 512);
        int bs = o.blockSize();
        if (bs == 0) {
            bs = Math.max(Math.max(detected, 512), offsetAlign);
        } else if (bs < detected) {
            throw new BdevException(Errno.EINVAL, who + ": block_size " + bs + " is smaller than " + o.filename()
                    + "'s logical block size " + detected);
        } else if (bs < offsetAlign) {
            throw new BdevException(Errno.EINVAL, who + ": block_size " + bs + " is smaller than the O_DIRECT alignment "
                    + offsetAlign + " of " + o.filename());
        } else if (detected != 0 && bs != detected) {
            LOG.log(System.Logger.Level.WARNING, "{0}: block_size {1} differs from {2}''s logical block size {3}", who,
                    Integer.toString(bs), o.filename(), Integer.toString(detected));
        }
        long numBlocks = size / bs;
        if (numBlocks == 0) {
            throw new BdevException(Errno.EINVAL, who + ": " + o.filename() + " (" + size + " bytes) is smaller than one "
                    + bs + "-byte block");
        }
        if (size % bs != 0) {
            LOG.log(System.Logger.Level.INFO, "{0}: {1} is {2} bytes, not a multiple of {3}; the last {4} bytes are unused",
                    who, o.filename(), Long.toString(size), Integer.toString(bs), Long.toString(size % bs));
        }
        AioBdev b = new AioBdev(o, numBlocks, bs, fd, direct, st.isBlockDevice(), memAlign, engine);
        LOG.log(System.Logger.Level.INFO, "{0}: {1} ({2}), {3} blocks of {4} bytes, {5}{6}{7}", who, o.filename(),
                st.isBlockDevice() ? "block device" : "file", Long.toString(numBlocks), Integer.toString(bs),
                engine == FileEngine.IO_URING ? "io_uring" : "Linux AIO", direct ? ", O_DIRECT" : ", buffered",
                o.readonly() ? ", read-only" : "");
        return b;
    }

    // ---- what it is ----

    @Override
    public String productName() {
        return PRODUCT_NAME;
    }

    @Override
    public String moduleName() {
        return MODULE_NAME;
    }

    /** The path it was created with. */
    public String filename() {
        return options.filename();
    }

    /** Whether a block size was given (SPDK's block_size_override). */
    public boolean blockSizeOverride() {
        return options.blockSize() != 0;
    }

    public boolean readonly() {
        return options.readonly();
    }

    /** Whether unmap and write_zeroes use fallocate(2). */
    public boolean fallocate() {
        return options.fallocate();
    }

    /** The options it was created with (for save_config). */
    public Options options() {
        return options;
    }

    /** The engine in use: {@link FileEngine#IO_URING} or {@link FileEngine#LINUX_AIO}. */
    public FileEngine engine() {
        return engine;
    }

    /** False when the file system refused O_DIRECT and I/O goes through the page cache. */
    public boolean directIo() {
        return directIo;
    }

    public boolean isBlockDevice() {
        return blockDevice;
    }

    /** Buffer address and length alignment O_DIRECT needs here (1 for buffered I/O). */
    public int memoryAlignment() {
        return memoryAlignment;
    }

    /**
     * How many reads and writes were copied through a bounce buffer because O_DIRECT could not take the caller's
     * buffers (misaligned, or more than 32 pieces).
     */
    public long bouncedIos() {
        return bounced.sum();
    }

    int fd() {
        return fd;
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return switch (type) {
            case READ, FLUSH, RESET, COMPARE -> true;
            case WRITE -> !options.readonly();
            case UNMAP, WRITE_ZEROES -> options.fallocate() && !options.readonly();
        };
    }

    @Override
    public int maxTransferBlocks() {
        return MAX_TRANSFER_BYTES / blockSize();
    }

    @Override
    public boolean writeCache() {
        return true;
    }

    @Override
    public Map<String, Object> driverSpecific() {
        Map<String, Object> aio = new LinkedHashMap<>();
        aio.put("filename", options.filename());
        aio.put("block_size_override", blockSizeOverride());
        aio.put("readonly", options.readonly());
        aio.put("fallocate", options.fallocate());
        return Map.of("aio", aio);
    }

    // ---- module SPI ----

    @Override
    protected Object createChannel(Reactor reactor) {
        if (destructed) {
            throw new IllegalStateException("bdev " + name() + " is gone");
        }
        return new AioChannel(this, reactor, engine);
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        ((AioChannel) moduleChannel).close();
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        ((AioChannel) moduleChannel).submit(io);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        if (!destructed) {
            destructed = true;
            int rc = Posix.closeRaw(fd);
            if (rc < 0) {
                LOG.log(System.Logger.Level.WARNING, "bdev {0}: close({1}) failed: {2}", name(), options.filename(),
                        Errno.name(-rc));
            }
            LOG.log(System.Logger.Level.INFO, "bdev {0}: closed {1}", name(), options.filename());
        }
        return CompletableFuture.completedFuture(null);
    }
}
