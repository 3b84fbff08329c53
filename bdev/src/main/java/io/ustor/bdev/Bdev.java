package io.ustor.bdev;

import io.ustor.bdev.internal.IoStatCounters;
import io.ustor.reactor.IoChannelFactory;
import io.ustor.reactor.IoDevice;
import io.ustor.reactor.Reactor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A block device. Modules (malloc, null, aio, ...) extend it and implement the protected SPI; users reach it through
 * {@link BdevRegistry#open} and a {@link BdevDesc}.
 *
 * <p>Module SPI: {@link #createChannel}/{@link #destroyChannel} make the module's per-reactor state;
 * {@link #submit} starts one (validated, split) io on that reactor and the module finishes it with
 * {@link BdevIo#complete} inline or later on the same reactor; {@link #destruct} releases the device after it was
 * unregistered and every channel is gone. The capability methods ({@link #supportsIoType}, {@link #maxTransferBlocks},
 * {@link #optimalIoBoundaryBlocks}, {@link #requiredAlignment}) must not change while the bdev is registered.
 */
public abstract class Bdev {
    private static final System.Logger LOG = System.getLogger(Bdev.class.getName());
    /** A bdev name or alias: no whitespace, not empty. */
    static final int MAX_NAME = 255;

    private final String name;
    private final int blockSize;
    private final UUID uuid;
    private volatile long numBlocks;
    private final List<String> aliases = new CopyOnWriteArrayList<>();
    private final IoDevice<BdevChannel> ioDevice;

    // Registry state, guarded by the registry's lock.
    BdevRegistry registry;
    final List<BdevDesc> descs = new ArrayList<>();
    BdevDesc claimDesc;
    String claimModule;
    boolean removing;
    CompletableFuture<Void> removal;

    // Statistics of channels: live ones are summed on read, destroyed ones are folded into retired.
    private final Object statsLock = new Object();
    private final List<BdevChannel> liveChannels = new ArrayList<>();
    private final long[] retired = IoStatCounters.newAccumulator(IoType.VALUES.length);

    private final ArrayDeque<BdevReset> resets = new ArrayDeque<>();

    /**
     * @param uuidOrNull null makes a random one
     */
    protected Bdev(String name, long numBlocks, int blockSize, UUID uuidOrNull) {
        checkName(name, "bdev name");
        if (numBlocks <= 0) {
            throw new BdevException(io.ustor.env.Errno.EINVAL, "bdev " + name + ": num_blocks must be > 0, not " + numBlocks);
        }
        if (blockSize <= 0) {
            throw new BdevException(io.ustor.env.Errno.EINVAL, "bdev " + name + ": block_size must be > 0, not " + blockSize);
        }
        this.name = name;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.uuid = uuidOrNull != null ? uuidOrNull : UUID.randomUUID();
        this.ioDevice = new IoDevice<>("bdev " + name, new ChannelFactory());
    }

    static void checkName(String name, String what) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME) {
            throw new BdevException(io.ustor.env.Errno.EINVAL, what + " must be 1.." + MAX_NAME + " characters: '" + name + "'");
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isWhitespace(name.charAt(i)) || Character.isISOControl(name.charAt(i))) {
                throw new BdevException(io.ustor.env.Errno.EINVAL, what + " must not contain whitespace: '" + name + "'");
            }
        }
    }

    // ---- identity and geometry ----

    public final String name() {
        return name;
    }

    /** Other names the bdev answers to (a copy). */
    public final List<String> aliases() {
        return List.copyOf(aliases);
    }

    final List<String> aliasList() {
        return aliases;
    }

    public final UUID uuid() {
        return uuid;
    }

    public final int blockSize() {
        return blockSize;
    }

    public final long numBlocks() {
        return numBlocks;
    }

    /** SPDK's product_name, e.g. "Malloc disk". */
    public abstract String productName();

    /** The module that made it: "malloc", "null", "aio", ... */
    public abstract String moduleName();

    /** Which I/O types the module does itself. READ and WRITE by default. */
    public boolean supportsIoType(IoType type) {
        return type == IoType.READ || type == IoType.WRITE;
    }

    /**
     * Bytes per physical block (SPDK's phys_blocklen): the unit the medium writes and unmaps in, a multiple of the
     * block size. The block size unless the module knows better (a malloc bdev created with physical_block_size).
     */
    public int physicalBlockSize() {
        return blockSize();
    }

    /** Largest read/write the module takes, in blocks; 0 = no limit. The layer splits larger ones. */
    public int maxTransferBlocks() {
        return 0;
    }

    /** Reads/writes must not cross multiples of this many blocks; 0 = no boundary. The layer splits at it. */
    public int optimalIoBoundaryBlocks() {
        return 0;
    }

    /** Buffer address and piece length alignment the module needs, in bytes (a power of two); 1 = none. */
    public int requiredAlignment() {
        return 1;
    }

    /** Whether the device has a volatile write cache (flush matters). */
    public boolean writeCache() {
        return false;
    }

    /** Module-specific fields for bdev_get_bdevs' driver_specific. */
    public Map<String, Object> driverSpecific() {
        return Map.of();
    }

    // ---- module SPI ----

    /** The module's per-reactor state; called on {@code reactor}. */
    protected abstract Object createChannel(Reactor reactor);

    /** Releases what {@link #createChannel} made; called on {@code reactor}. */
    protected abstract void destroyChannel(Reactor reactor, Object moduleChannel);

    /**
     * Starts {@code io} (already validated; at most {@link #maxTransferBlocks} and inside one boundary) on the channel's
     * reactor. Finish it with {@link BdevIo#complete} / {@link BdevIo#completeErrno} now or later on the same reactor.
     * Must not allocate or block.
     */
    protected abstract void submit(Object moduleChannel, BdevIo io);

    /** Releases the device; called once after unregistering, when no descriptor and no channel is left. */
    protected abstract CompletableFuture<Void> destruct();

    /**
     * A reset is starting: the channel takes no new requests, and the reset waits for the ones in flight. A module
     * that holds requests back indefinitely ends them now (as aborted), so the reset does not wait forever. Called on
     * the channel's reactor; nothing to do by default.
     */
    protected void resetStarting(Object moduleChannel) {
    }

    /** The module changed the size: tells every open descriptor (RESIZE). Growing or shrinking; control plane. */
    protected final void resize(long newNumBlocks) {
        if (newNumBlocks <= 0) {
            throw new BdevException(io.ustor.env.Errno.EINVAL, "bdev " + name + ": cannot resize to " + newNumBlocks + " blocks");
        }
        long old = numBlocks;
        numBlocks = newNumBlocks;
        LOG.log(System.Logger.Level.INFO, "bdev {0}: resized from {1} to {2} blocks", name, Long.toString(old), Long.toString(newNumBlocks));
        BdevRegistry r = registry;
        if (r != null && old != newNumBlocks) {
            r.notifyResize(this);
        }
    }

    /**
     * The device went away under the module (file deleted, controller removed): unregisters the bdev, which tells
     * open descriptors REMOVE. Returns the unregister's future; fails with ENODEV when not registered.
     */
    protected final CompletableFuture<Void> hotRemove() {
        BdevRegistry r = registry;
        if (r == null) {
            return CompletableFuture.failedFuture(new BdevException(io.ustor.env.Errno.ENODEV, "bdev " + name + " is not registered"));
        }
        LOG.log(System.Logger.Level.WARNING, "bdev {0}: hot-removed by its module", name);
        return r.unregister(name);
    }

    // ---- state ----

    /** Whether a module claimed it for exclusive writing (SPDK's "claimed"). */
    public final boolean claimed() {
        BdevRegistry r = registry;
        if (r == null) {
            return false;
        }
        synchronized (r.lock) {
            return claimModule != null;
        }
    }

    /** The module that claimed it, or null. */
    public final String claimedBy() {
        BdevRegistry r = registry;
        if (r == null) {
            return null;
        }
        synchronized (r.lock) {
            return claimModule;
        }
    }

    /**
     * Runs {@code visit} with this bdev's module channel on each reactor that has one (on that reactor); the future
     * completes once every one was visited. For control-plane actions on per-reactor module state.
     */
    protected final CompletableFuture<Void> forEachModuleChannel(java.util.function.Consumer<Object> visit) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ioDevice.forEachChannel((r, ch) -> visit.accept(ch.moduleChannel), () -> done.complete(null));
        return done;
    }

    /** The per-reactor channel device; used by the layer. */
    final IoDevice<BdevChannel> ioDevice() {
        return ioDevice;
    }

    // ---- statistics ----

    /** Statistics of all channels, past and present; any thread, without stopping I/O. */
    public final IoStats stats() {
        long[] acc = IoStatCounters.newAccumulator(IoType.VALUES.length);
        synchronized (statsLock) {
            IoStatCounters.merge(retired, acc);
            for (BdevChannel ch : liveChannels) {
                ch.counters.addTo(acc);
            }
        }
        return new IoStats(acc);
    }

    /** Statistics of each live channel, by reactor index. */
    public final Map<Integer, IoStats> channelStats() {
        Map<Integer, IoStats> m = new LinkedHashMap<>();
        synchronized (statsLock) {
            for (BdevChannel ch : liveChannels) {
                m.put(ch.reactor.index(), ch.stats());
            }
        }
        return m;
    }

    /** One entry of SPDK's bdev_get_iostat "bdevs" list: "name" then {@link IoStats#toSpdkMap()}. */
    public final Map<String, Object> iostat() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.putAll(stats().toSpdkMap());
        return m;
    }

    /** One entry of SPDK's bdev_get_bdevs, in its order and shape. */
    public final Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("aliases", aliases());
        m.put("product_name", productName());
        m.put("block_size", blockSize);
        m.put("num_blocks", numBlocks);
        m.put("uuid", uuid.toString());
        Map<String, Object> limits = new LinkedHashMap<>();
        limits.put("rw_ios_per_sec", 0L);
        limits.put("rw_mbytes_per_sec", 0L);
        limits.put("r_mbytes_per_sec", 0L);
        limits.put("w_mbytes_per_sec", 0L);
        m.put("assigned_rate_limits", limits);
        String claim = claimedBy();
        m.put("claimed", claim != null);
        if (claim != null) {
            m.put("claim_type", "exclusive_write");
        }
        m.put("zoned", false);
        Map<String, Object> io = new LinkedHashMap<>();
        io.put("read", supportsIoType(IoType.READ));
        io.put("write", supportsIoType(IoType.WRITE));
        io.put("unmap", supportsIoType(IoType.UNMAP));
        io.put("flush", supportsIoType(IoType.FLUSH));
        io.put("reset", supportsIoType(IoType.RESET));
        io.put("nvme_admin", false);
        io.put("nvme_io", false);
        io.put("nvme_io_md", false);
        // SPDK reports what the module does natively here, though the layer emulates it with writes.
        io.put("write_zeroes", supportsIoType(IoType.WRITE_ZEROES));
        io.put("zcopy", false);
        io.put("get_zone_info", false);
        io.put("zone_management", false);
        io.put("zone_append", false);
        io.put("compare", supportsIoType(IoType.COMPARE));
        io.put("compare_and_write", false);
        io.put("abort", false);
        io.put("seek_hole", false);
        io.put("seek_data", false);
        io.put("copy", false);
        io.put("nvme_iov_md", false);
        m.put("supported_io_types", io);
        if (optimalIoBoundaryBlocks() > 0) {
            m.put("optimal_io_boundary", optimalIoBoundaryBlocks());
        }
        m.put("driver_specific", driverSpecific());
        return m;
    }

    // ---- reset queue ----

    /** On the reset's reactor: starts it now, or after the resets ahead of it. */
    void startReset(BdevReset reset) {
        boolean now;
        synchronized (resets) {
            resets.addLast(reset);
            now = resets.size() == 1;
        }
        if (now) {
            reset.start();
        }
    }

    void resetDone(BdevReset reset) {
        BdevReset next;
        synchronized (resets) {
            resets.remove(reset);
            next = resets.peekFirst();
        }
        if (next != null) {
            next.startOnOrigin();
        }
    }

    @Override
    public String toString() {
        return "bdev " + name;
    }

    /** Makes the layer's channel around the module's. */
    private final class ChannelFactory implements IoChannelFactory<BdevChannel> {
        @Override
        public BdevChannel createChannel(Reactor r) {
            BdevRegistry reg = registry;
            if (reg == null) {
                throw new IllegalStateException("bdev " + name + " is not registered");
            }
            Object moduleChannel = Bdev.this.createChannel(r);
            BdevChannel ch = new BdevChannel(Bdev.this, r, moduleChannel, reg.options().ioPoolSize(), reg.zeroBuffer());
            synchronized (statsLock) {
                liveChannels.add(ch);
            }
            return ch;
        }

        @Override
        public void destroyChannel(Reactor r, BdevChannel ch) {
            ch.destroy();
            synchronized (statsLock) {
                liveChannels.remove(ch);
                ch.counters.addTo(retired);
            }
            Bdev.this.destroyChannel(r, ch.moduleChannel);
        }
    }
}
