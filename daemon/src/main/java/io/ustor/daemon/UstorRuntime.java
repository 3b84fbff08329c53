package io.ustor.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.BdevRegistry;
import io.ustor.daemon.bdev.BdevSubsystem;
import io.ustor.daemon.config.JsonConfigLoader;
import io.ustor.daemon.framework.FrameworkMethods;
import io.ustor.daemon.settings.FrameworkSettings;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.IoBufferPool;
import io.ustor.env.IoBufferPoolOptions;
import io.ustor.env.net.SocketBuffers;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.RpcServer;
import io.ustor.rpc.RpcState;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A running ustor: DMA memory, reactors, the bdev registry, the subsystems (bdev and every front end found with
 * ServiceLoader) with their RPC methods, and optionally the JSON-RPC server. ustord is this plus a command line;
 * bdevperf embeds it without an RPC socket.
 */
public final class UstorRuntime implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(UstorRuntime.class.getName());

    private final RuntimeOptions options;
    private final DmaMemory dma;
    private final boolean ownsDma;
    private final ReactorGroup reactors;
    private final BdevRegistry bdevs;
    private final RpcRegistry rpc;
    private final SubsystemContext context = new SubsystemContext();
    private final List<Subsystem> subsystems;
    private final CompletableFuture<String> shutdownRequested = new CompletableFuture<>();
    private IoBufferPool buffers;
    private IoBufferPoolOptions bufferOptions = IoBufferPoolOptions.defaults();
    /** TCP front ends' socket buffer sizes: the kernel's unless sock_impl_set_options set the posix ones. */
    private final SocketBuffers socketBuffers = new SocketBuffers();
    private RpcServer rpcServer;
    private boolean closed;

    private UstorRuntime(RuntimeOptions o) {
        this.options = o;
        DmaOptions dmaOptions = DmaOptions.defaults().withMemorySizeMb(o.memSizeMb()).withHugeDir(o.hugeDir())
                .withNoHuge(o.noHuge()).withIovaMode(o.iovaMode());
        DmaMemory m;
        boolean owns;
        try {
            // The process-wide memory, so modules that use DmaMemory.get() share it.
            m = DmaMemory.configure(dmaOptions);
            owns = false;
        } catch (IllegalStateException alreadyOpen) {
            // Another runtime in this JVM (tests, benchmarks) configured it differently: use our own.
            m = DmaMemory.open(dmaOptions);
            owns = true;
        }
        this.dma = m;
        this.ownsDma = owns;
        ReactorGroup group = null;
        try {
            group = ReactorGroup.start(o.coreMask(), ReactorOptions.defaults().withIdleMode(o.idleMode()));
            this.reactors = group;
            this.bdevs = new BdevRegistry(group);
            this.rpc = new RpcRegistry(o.waitForRpc() ? RpcState.STARTUP : RpcState.RUNTIME);
        } catch (RuntimeException e) {
            if (group != null) {
                group.close();
            }
            if (owns) {
                m.close();
            }
            throw e;
        }
        context.put(UstorRuntime.class, this);
        context.put(ReactorGroup.class, reactors);
        context.put(BdevRegistry.class, bdevs);
        context.put(DmaMemory.class, dma);
        context.put(RpcRegistry.class, rpc);
        context.putLazy(IoBufferPool.class, this::buffers);
        context.put(SocketBuffers.class, socketBuffers);
        this.subsystems = orderSubsystems(discoverSubsystems());
    }

    /** Starts everything; with {@code o.rpcSocket()} set, the RPC server listens on it before this returns. */
    public static UstorRuntime start(RuntimeOptions o) throws IOException {
        UstorRuntime rt = new UstorRuntime(o);
        try {
            FrameworkMethods.register(rt);
            for (Subsystem s : rt.subsystems) {
                s.registerMethods(rt.rpc, rt.context);
            }
            if (o.rpcSocket() != null) {
                rt.rpcServer = RpcServer.start(o.rpcSocket(), rt.rpc);
            }
        } catch (IOException | RuntimeException e) {
            rt.close();
            throw e;
        }
        return rt;
    }

    private List<Subsystem> discoverSubsystems() {
        List<Subsystem> found = new ArrayList<>();
        found.addAll(FrameworkSettings.create(this::bufferOptions, this::setBufferOptions, this::buffersIfCreated,
                socketBuffers));
        found.add(new BdevSubsystem());
        for (Subsystem s : ServiceLoader.load(Subsystem.class, UstorRuntime.class.getClassLoader())) {
            if (s.name().equals("bdev") || SETTINGS_FIRST.contains(s.name())) {
                continue;
            }
            found.add(s);
        }
        return found;
    }

    /** SPDK's settings-only subsystems, first in a saved config as in SPDK's. */
    private static final java.util.Set<String> SETTINGS_FIRST = java.util.Set.of("keyring", "iobuf", "sock", "accel");

    /** Whether {@code name} is one of SPDK's settings-only subsystems (no bdevs, nothing served). */
    public static boolean isSettingsOnly(String name) {
        return SETTINGS_FIRST.contains(name);
    }

    /**
     * The settings-only subsystems first; then dependencies first (a front end after bdev); then bdev modules
     * (bdev_nvme...) before front ends, so that a saved config creates a front end's bdevs before the front end;
     * otherwise in discovery order.
     */
    static List<Subsystem> orderSubsystems(List<Subsystem> discovered) {
        List<Subsystem> found = new ArrayList<>(discovered);
        found.sort(java.util.Comparator.comparingInt(s -> SETTINGS_FIRST.contains(s.name()) ? -1
                : s.name().equals("bdev") ? 0 : s.name().startsWith("bdev_") ? 1 : 2));
        Map<String, Subsystem> byName = new LinkedHashMap<>();
        for (Subsystem s : found) {
            if (byName.putIfAbsent(s.name(), s) != null) {
                throw new IllegalStateException("two subsystems are named " + s.name());
            }
        }
        List<Subsystem> out = new ArrayList<>();
        for (Subsystem s : found) {
            visit(s, byName, out, new ArrayList<>());
        }
        return Collections.unmodifiableList(out);
    }

    private static void visit(Subsystem s, Map<String, Subsystem> byName, List<Subsystem> out, List<String> path) {
        if (out.contains(s)) {
            return;
        }
        if (path.contains(s.name())) {
            throw new IllegalStateException("subsystem dependency cycle: " + path + " -> " + s.name());
        }
        path.add(s.name());
        for (String dep : s.dependsOn()) {
            Subsystem d = byName.get(dep);
            if (d == null) {
                throw new IllegalStateException("subsystem " + s.name() + " depends on missing subsystem " + dep);
            }
            visit(d, byName, out, path);
        }
        path.remove(path.size() - 1);
        out.add(s);
    }

    /** Applies an SPDK JSON config file through the RPC methods (see {@link JsonConfigLoader}). */
    public void loadConfig(Path jsonConfig) throws IOException, RpcException {
        JsonConfigLoader.load(rpc, jsonConfig);
    }

    /** Applies an SPDK JSON config already parsed. */
    public void loadConfig(JsonNode config) throws RpcException {
        JsonConfigLoader.apply(rpc, config, "config");
    }

    /** The current configuration in SPDK's format (what save_config returns). */
    public ObjectNode saveConfig() throws RpcException {
        return (ObjectNode) rpc.callAndWait("save_config", null);
    }

    public RuntimeOptions options() {
        return options;
    }

    public ReactorGroup reactors() {
        return reactors;
    }

    public BdevRegistry bdevs() {
        return bdevs;
    }

    public DmaMemory dma() {
        return dma;
    }

    /** The data buffer pool, created on first use (SPDK's iobuf defaults take about 200 MiB). */
    public synchronized IoBufferPool buffers() {
        if (buffers == null) {
            buffers = IoBufferPool.create(bufferOptions, dma);
        }
        return buffers;
    }

    /** The pool if something has used it, else null (without creating it). */
    public synchronized IoBufferPool buffersIfCreated() {
        return buffers;
    }

    /** The buffer pool's sizes: SPDK's defaults unless iobuf_set_options or bdev_set_options changed them. */
    public synchronized IoBufferPoolOptions bufferOptions() {
        return bufferOptions;
    }

    /** Before the pool is first used (SPDK allows iobuf_set_options only before framework_start_init). */
    public synchronized void setBufferOptions(IoBufferPoolOptions o) {
        if (buffers != null) {
            throw new IllegalStateException("the data buffer pool is in use already; set its options at startup");
        }
        bufferOptions = o;
    }

    public RpcRegistry rpc() {
        return rpc;
    }

    public SubsystemContext context() {
        return context;
    }

    /** bdev first, then front ends, in dependency order. */
    public List<Subsystem> subsystems() {
        return subsystems;
    }

    /** The RPC server's socket, or null without one. */
    public Path rpcSocket() {
        return rpcServer == null ? null : rpcServer.socketPath();
    }

    /** framework_start_init: STARTUP -> RUNTIME. */
    public void startInit() {
        rpc.enterRuntime();
    }

    /** Asks the owner (ustord's main) to shut down, e.g. spdk_kill_instance; completes {@link #shutdownRequested}. */
    public void requestShutdown(String reason) {
        shutdownRequested.complete(reason);
    }

    /** Completes with the reason when something asked for shutdown. */
    public CompletableFuture<String> shutdownRequested() {
        return shutdownRequested;
    }

    /**
     * Graceful shutdown: the RPC server stops (its socket is removed), front ends stop serving, bdevs are
     * unregistered (open descriptors are told to close, I/O in flight finishes), reactors drain and stop, memory
     * is released. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (rpcServer != null) {
            rpcServer.close();
        }
        for (int i = subsystems.size() - 1; i >= 0; i--) {
            Subsystem s = subsystems.get(i);
            try {
                s.shutdown();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "subsystem " + s.name() + ": shutdown failed", e);
            }
        }
        try {
            bdevs.unregisterAll().get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, "bdevs still open after 10 s: {0}", bdevs.list());
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "unregistering bdevs failed", e);
        }
        rpc.close();
        reactors.close();
        if (buffers != null) {
            buffers.close();
        }
        if (ownsDma) {
            dma.close();
        }
        shutdownRequested.complete("closed");
    }
}
