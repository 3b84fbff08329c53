package io.ustor.bdev;

import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * The bdevs of one daemon: lookup by name, alias or UUID, opening descriptors, claims, and unregistering (which tells
 * open descriptors REMOVE, waits until they close and every channel is gone, then destructs the bdev). Control plane:
 * every method is thread-safe and may block briefly on a lock.
 */
public final class BdevRegistry {
    private static final System.Logger LOG = System.getLogger(BdevRegistry.class.getName());

    final Object lock = new Object();
    private final ReactorGroup reactors;
    private final BdevOptions options;
    /** Names and aliases share one namespace, as in SPDK. */
    private final Map<String, Bdev> byName = new HashMap<>();
    private final Map<UUID, Bdev> byUuid = new HashMap<>();
    private final Map<String, Bdev> ordered = new LinkedHashMap<>();
    private final MemorySegment zeroBuffer;

    public BdevRegistry(ReactorGroup reactors) {
        this(reactors, BdevOptions.defaults());
    }

    public BdevRegistry(ReactorGroup reactors, BdevOptions options) {
        this.reactors = reactors;
        this.options = options;
        // Read-only to modules; page aligned so O_DIRECT and devices take it.
        this.zeroBuffer = Arena.ofAuto().allocate(options.zeroBufferBytes(), 4096);
    }

    /** The reactors the bdevs' channels live on (may be null in a registry used off the reactors). */
    public ReactorGroup reactors() {
        return reactors;
    }

    public BdevOptions options() {
        return options;
    }

    /** The ticks per second of latency statistics (nanoseconds). */
    public static long tickRate() {
        return IoStats.TICK_RATE;
    }

    MemorySegment zeroBuffer() {
        return zeroBuffer;
    }

    /** Adds a bdev; fails with EEXIST naming the clash when its name, an alias or its UUID is taken. */
    public void register(Bdev bdev) {
        synchronized (lock) {
            if (bdev.registry != null) {
                throw new BdevException(Errno.EEXIST, "bdev " + bdev.name() + " is already registered");
            }
            if (byName.containsKey(bdev.name())) {
                throw new BdevException(Errno.EEXIST, "bdev name " + bdev.name() + " already exists");
            }
            for (String a : bdev.aliasList()) {
                if (byName.containsKey(a)) {
                    throw new BdevException(Errno.EEXIST, "bdev " + bdev.name() + ": alias " + a + " already exists");
                }
            }
            if (byUuid.containsKey(bdev.uuid())) {
                throw new BdevException(Errno.EEXIST, "bdev " + bdev.name() + ": UUID " + bdev.uuid()
                        + " already belongs to bdev " + byUuid.get(bdev.uuid()).name());
            }
            bdev.registry = this;
            byName.put(bdev.name(), bdev);
            for (String a : bdev.aliasList()) {
                byName.put(a, bdev);
            }
            byUuid.put(bdev.uuid(), bdev);
            ordered.put(bdev.name(), bdev);
        }
        LOG.log(System.Logger.Level.INFO, "bdev {0}: registered ({1}, {2} blocks of {3} bytes, uuid {4})", bdev.name(),
                bdev.moduleName(), Long.toString(bdev.numBlocks()), Integer.toString(bdev.blockSize()), bdev.uuid());
    }

    /** Adds another name for a bdev (SPDK's bdev_alias_add, e.g. "lvs/lvol"). */
    public void addAlias(String bdevName, String alias) {
        Bdev.checkName(alias, "bdev alias");
        synchronized (lock) {
            Bdev b = lookupLocked(bdevName);
            if (b == null) {
                throw new BdevException(Errno.ENODEV, "bdev " + bdevName + " not found");
            }
            if (byName.containsKey(alias)) {
                throw new BdevException(Errno.EEXIST, "bdev " + b.name() + ": alias " + alias + " already exists");
            }
            b.aliasList().add(alias);
            byName.put(alias, b);
        }
    }

    public void removeAlias(String bdevName, String alias) {
        synchronized (lock) {
            Bdev b = lookupLocked(bdevName);
            if (b == null || !b.aliasList().remove(alias)) {
                throw new BdevException(Errno.ENOENT, "bdev " + bdevName + " has no alias " + alias);
            }
            byName.remove(alias);
        }
    }

    /** The bdev with this name, alias or UUID (any case), or null. */
    public Bdev lookup(String nameAliasOrUuid) {
        synchronized (lock) {
            return lookupLocked(nameAliasOrUuid);
        }
    }

    private Bdev lookupLocked(String key) {
        if (key == null) {
            return null;
        }
        Bdev b = byName.get(key);
        if (b == null && key.length() == 36) {
            try {
                b = byUuid.get(UUID.fromString(key.toLowerCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return b;
    }

    /** Every registered bdev, in registration order (including those being unregistered). */
    public List<Bdev> list() {
        synchronized (lock) {
            return List.copyOf(ordered.values());
        }
    }

    /**
     * SPDK's bdev_get_bdevs result: {@link Bdev#describe()} of the named bdev (name, alias or UUID), or of all bdevs
     * when {@code nameOrNull} is null. Fails with ENODEV naming a bdev that does not exist.
     */
    public List<Map<String, Object>> describe(String nameOrNull) {
        if (nameOrNull != null) {
            Bdev b = lookup(nameOrNull);
            if (b == null) {
                throw new BdevException(Errno.ENODEV, "bdev " + nameOrNull + " not found");
            }
            return List.of(b.describe());
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Bdev b : list()) {
            out.add(b.describe());
        }
        return out;
    }

    /**
     * SPDK's bdev_get_iostat result: {"tick_rate", "ticks", "bdevs": [{@link Bdev#iostat()}...]} for the named bdev or
     * all. Fails with ENODEV naming a bdev that does not exist.
     */
    public Map<String, Object> iostat(String nameOrNull) {
        List<Bdev> bdevs;
        if (nameOrNull != null) {
            Bdev b = lookup(nameOrNull);
            if (b == null) {
                throw new BdevException(Errno.ENODEV, "bdev " + nameOrNull + " not found");
            }
            bdevs = List.of(b);
        } else {
            bdevs = list();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tick_rate", IoStats.TICK_RATE);
        m.put("ticks", System.nanoTime());
        List<Map<String, Object>> list = new ArrayList<>();
        for (Bdev b : bdevs) {
            list.add(b.iostat());
        }
        m.put("bdevs", list);
        return m;
    }

    /**
     * Opens a bdev by name, alias or UUID. Fails with ENODEV when there is none (or it is being removed), EPERM when
     * opening for write a bdev another module claimed.
     */
    public BdevDesc open(String nameAliasOrUuid, boolean write, BdevEventCallback events) {
        if (events == null) {
            throw new BdevException(Errno.EINVAL, "bdev " + nameAliasOrUuid + ": open needs an event callback");
        }
        synchronized (lock) {
            Bdev b = lookupLocked(nameAliasOrUuid);
            if (b == null || b.removing) {
                throw new BdevException(Errno.ENODEV, "bdev " + nameAliasOrUuid + (b == null ? " not found" : " is being removed"));
            }
            if (write && b.claimModule != null) {
                throw new BdevException(Errno.EPERM, "bdev " + b.name() + " is claimed by " + b.claimModule
                        + "; it cannot be opened for writing");
            }
            BdevDesc d = new BdevDesc(this, b, write, events);
            b.descs.add(d);
            return d;
        }
    }

    void claim(BdevDesc d, String module) {
        if (module == null || module.isEmpty()) {
            throw new BdevException(Errno.EINVAL, "claim needs a module name");
        }
        synchronized (lock) {
            Bdev b = d.bdev();
            if (d.closed) {
                throw new BdevException(Errno.EBADF, "bdev " + b.name() + ": descriptor is closed");
            }
            if (!d.writable()) {
                throw new BdevException(Errno.EPERM, "bdev " + b.name() + ": a claim needs a read-write descriptor");
            }
            if (b.claimModule != null) {
                if (b.claimDesc == d) {
                    return;
                }
                throw new BdevException(Errno.EPERM, "bdev " + b.name() + " is already claimed by " + b.claimModule);
            }
            for (BdevDesc other : b.descs) {
                if (other != d && other.writable()) {
                    throw new BdevException(Errno.EPERM, "bdev " + b.name() + " is open for writing elsewhere; cannot claim it for " + module);
                }
            }
            b.claimDesc = d;
            b.claimModule = module;
        }
    }

    void releaseClaim(BdevDesc d) {
        synchronized (lock) {
            Bdev b = d.bdev();
            if (b.claimDesc == d) {
                b.claimDesc = null;
                b.claimModule = null;
            }
        }
    }

    void closeDesc(BdevDesc d) {
        Bdev b = d.bdev();
        boolean last;
        synchronized (lock) {
            if (d.closed) {
                return;
            }
            d.closed = true;
            b.descs.remove(d);
            if (b.claimDesc == d) {
                b.claimDesc = null;
                b.claimModule = null;
            }
            last = b.removing && b.descs.isEmpty();
        }
        if (last) {
            finishRemoval(b);
        }
    }

    /**
     * Unregisters a bdev by name or alias: no new opens; open descriptors get REMOVE; once all are closed and every
     * channel released, the module destructs it and the future completes (then the name is free again). Fails with
     * ENODEV when there is no such bdev.
     */
    public CompletableFuture<Void> unregister(String nameOrAlias) {
        Bdev b;
        List<BdevDesc> toNotify;
        synchronized (lock) {
            b = lookupLocked(nameOrAlias);
            if (b == null) {
                return CompletableFuture.failedFuture(new BdevException(Errno.ENODEV, "bdev " + nameOrAlias + " not found"));
            }
            if (b.removing) {
                return b.removal;
            }
            b.removing = true;
            b.removal = new CompletableFuture<>();
            toNotify = new ArrayList<>(b.descs);
        }
        LOG.log(System.Logger.Level.INFO, "bdev {0}: unregistering ({1} open descriptors)", b.name(), Integer.toString(toNotify.size()));
        CompletableFuture<Void> f = b.removal;
        if (toNotify.isEmpty()) {
            finishRemoval(b);
        } else {
            for (BdevDesc d : toNotify) {
                dispatchEvent(d, BdevEventType.REMOVE);
            }
        }
        return f;
    }

    /** Unregisters every bdev (daemon shutdown); completes when all are destructed. */
    public CompletableFuture<Void> unregisterAll() {
        List<Bdev> all = list();
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0; i--) {
            fs.add(unregister(all.get(i).name()));
        }
        return CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new));
    }

    void notifyResize(Bdev b) {
        List<BdevDesc> toNotify;
        synchronized (lock) {
            toNotify = new ArrayList<>(b.descs);
        }
        for (BdevDesc d : toNotify) {
            dispatchEvent(d, BdevEventType.RESIZE);
        }
    }

    /** Runs the descriptor's callback on the reactor that opened it, or here when it was opened off the reactors. */
    private void dispatchEvent(BdevDesc d, BdevEventType type) {
        Runnable call = () -> {
            if (d.closed) {
                return;
            }
            try {
                d.events().onEvent(type, d);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "bdev " + d.bdev().name() + ": " + type + " event callback threw", e);
            }
        };
        Reactor r = d.openedOn();
        if (r == null || r.isCurrent()) {
            call.run();
        } else if (!r.submit(call)) {
            LOG.log(System.Logger.Level.WARNING, "bdev {0}: {1} event could not reach {2} (queue full); calling it here",
                    d.bdev().name(), type, r.name());
            call.run();
        }
    }

    private void finishRemoval(Bdev b) {
        b.ioDevice().unregister(() -> {
            CompletableFuture<Void> destructed;
            try {
                destructed = b.destruct();
            } catch (RuntimeException e) {
                destructed = CompletableFuture.failedFuture(e);
            }
            destructed.whenComplete((v, err) -> {
                synchronized (lock) {
                    byName.remove(b.name());
                    for (String a : b.aliasList()) {
                        byName.remove(a);
                    }
                    byUuid.remove(b.uuid());
                    ordered.remove(b.name());
                    b.registry = null;
                }
                if (err != null) {
                    LOG.log(System.Logger.Level.ERROR, "bdev " + b.name() + ": destruct failed", err);
                    b.removal.completeExceptionally(err);
                } else {
                    LOG.log(System.Logger.Level.INFO, "bdev {0}: unregistered", b.name());
                    b.removal.complete(null);
                }
            });
        });
    }
}
