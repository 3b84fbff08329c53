package io.ustor.daemon.settings;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.settings.SettingsSubsystem.When;
import io.ustor.env.IoBufferCache;
import io.ustor.env.IoBufferPool;
import io.ustor.env.IoBufferPoolOptions;
import io.ustor.env.IoBufferStats;
import io.ustor.env.net.SocketBuffers;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.Subsystem;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * SPDK's settings-only subsystems as ustor has them: {@code iobuf} (applied: the data buffer pool's counts and
 * sizes), {@code sock} (the posix buffer sizes applied to the TCP front ends' sockets, the rest kept), {@code accel}
 * (checked and kept: copies run on the CPU), {@code keyring} (the Linux keyring is not supported: enabling it is
 * refused).
 */
public final class FrameworkSettings {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private FrameworkSettings() {
    }

    /**
     * @param pool     the pool options in force
     * @param setPool  replaces them (throws IllegalStateException once the pool exists)
     * @param poolIfCreated the pool, or null while nothing has used it (iobuf_get_stats does not create it)
     * @param socketBuffers where sock_impl_set_options for "posix" puts its buffer sizes
     */
    public static List<Subsystem> create(Supplier<IoBufferPoolOptions> pool, Consumer<IoBufferPoolOptions> setPool,
                                         Supplier<IoBufferPool> poolIfCreated, SocketBuffers socketBuffers) {
        return List.of(keyring(), iobuf(pool, setPool, poolIfCreated), SockSettings.create(socketBuffers), accel());
    }

    static SettingsSubsystem iobuf(Supplier<IoBufferPoolOptions> pool, Consumer<IoBufferPoolOptions> setPool,
                                   Supplier<IoBufferPool> poolIfCreated) {
        IoBufferPoolOptions o = pool.get();
        ObjectNode defaults = MAPPER.createObjectNode()
                .put("small_pool_count", o.smallPoolCount()).put("large_pool_count", o.largePoolCount())
                .put("small_bufsize", o.smallBufferSize()).put("large_bufsize", o.largeBufferSize())
                .put("enable_numa", false);
        OptionsMethod m = new OptionsMethod("iobuf_set_options", List.of("small_pool_count u64",
                "large_pool_count u64", "small_bufsize u32", "large_bufsize u32", "enable_numa bool"), defaults,
                merged -> {
                    // SPDK's lower bounds (lib/thread/iobuf.c); the upper ones are what one pool can index.
                    long small = atLeast(merged, "small_pool_count", 64), large = atLeast(merged, "large_pool_count", 8);
                    long smallSize = atLeast(merged, "small_bufsize", 4096);
                    long largeSize = atLeast(merged, "large_bufsize", 8192);
                    if (merged.path("enable_numa").asBoolean(false)) {
                        throw RpcException.invalidParams("enable_numa: ustor keeps one buffer pool (no NUMA pools)");
                    }
                    IoBufferPoolOptions cur = pool.get();
                    try {
                        setPool.accept(cur.withSmall(Math.toIntExact(smallSize), Math.toIntExact(small))
                                .withLarge(Math.toIntExact(largeSize), Math.toIntExact(large)));
                    } catch (IllegalArgumentException | ArithmeticException e) {
                        throw RpcException.invalidParams("iobuf options: " + e.getMessage());
                    } catch (IllegalStateException e) {
                        throw RpcException.internal(e.getMessage());
                    }
                });
        return new SettingsSubsystem("iobuf").with(m, When.STARTUP, true)
                .withMethod("iobuf_get_stats", p -> {
                    p.requireNone("iobuf_get_stats");
                    return iobufStats(poolIfCreated.get());
                }, When.RUNTIME);
    }

    /**
     * SPDK's iobuf_get_stats: per module (a cache's name up to its first space: "iscsi reactor_0" is iscsi's), the
     * gets served from the reactors' caches, from the shared pool, and the ones that had to wait.
     */
    static ArrayNode iobufStats(IoBufferPool p) {
        Map<String, long[]> byModule = new TreeMap<>();
        if (p != null) {
            for (IoBufferCache c : p.caches()) {
                String n = c.name();
                long[] t = byModule.computeIfAbsent(n.contains(" ") ? n.substring(0, n.indexOf(' ')) : n,
                        k -> new long[6]);
                IoBufferStats small = c.smallStats(), large = c.largeStats();
                t[0] += small.cacheHits();
                t[1] += small.globalGets();
                t[2] += small.waits();
                t[3] += large.cacheHits();
                t[4] += large.globalGets();
                t[5] += large.waits();
            }
        }
        ArrayNode out = MAPPER.createArrayNode();
        byModule.forEach((module, t) -> {
            ObjectNode m = out.addObject().put("module", module);
            m.putObject("small_pool").put("cache", t[0]).put("main", t[1]).put("retry", t[2]);
            m.putObject("large_pool").put("cache", t[3]).put("main", t[4]).put("retry", t[5]);
        });
        return out;
    }

    static SettingsSubsystem accel() {
        return new SettingsSubsystem("accel").with(new OptionsMethod("accel_set_options", List.of(
                "small_cache_size u32", "large_cache_size u32", "task_count u32", "sequence_count u32",
                "buf_count u32"), MAPPER.createObjectNode(), null), When.STARTUP, false);
    }

    static SettingsSubsystem keyring() {
        return new SettingsSubsystem("keyring").with(new OptionsMethod("keyring_linux_set_options",
                List.of("enable bool"), MAPPER.createObjectNode().put("enable", false), merged -> {
                    if (merged.path("enable").asBoolean(false)) {
                        throw RpcException.invalidParams("enable: ustor has no Linux keyring module");
                    }
                }), When.STARTUP, false);
    }

    static long atLeast(ObjectNode merged, String name, long min) throws RpcException {
        long v = merged.path(name).asLong();
        if (v < min) {
            throw RpcException.invalidParams("parameter '" + name + "' must be at least " + min + ", not " + v);
        }
        return v;
    }
}
