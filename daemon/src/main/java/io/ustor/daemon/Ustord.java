package io.ustor.daemon;

import io.ustor.daemon.cli.LogSetup;
import io.ustor.daemon.cli.Signals;
import io.ustor.daemon.cli.UsageException;
import io.ustor.daemon.cli.UstordOptions;
import io.ustor.daemon.config.JsonConfigLoader;
import io.ustor.env.DmaMemory;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.Subsystem;
import io.ustor.vhost.VhostSocketDirectory;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * ustord: parses the command line, starts a {@link UstorRuntime} with an RPC socket, applies the JSON config (or
 * the built-in default), prints what it serves, and runs until SIGINT/SIGTERM or spdk_kill_instance. Exit status:
 * 0 after a graceful shutdown, 1 when start-up fails, 2 for a bad command line.
 */
public final class Ustord {
    private static final String DEFAULT_CONFIG = "default-config.json";

    private Ustord() {
    }

    public static void main(String[] args) {
        UstordOptions o;
        try {
            o = UstordOptions.parse(args);
        } catch (UsageException e) {
            System.err.println("ustord: " + e.getMessage() + " (see ustord --help)");
            System.exit(2);
            return;
        }
        if (o.help()) {
            System.out.print(UstordOptions.USAGE);
            System.exit(0);
            return;
        }
        LogSetup.configure(o.logFlags());
        CompletableFuture<String> stop = new CompletableFuture<>();
        Signals.install(stop::complete);
        System.exit(run(o, stop, System.out));
    }

    /** Runs until {@code stop} completes; returns the exit status. */
    static int run(UstordOptions o, CompletableFuture<String> stop, PrintStream out) {
        RuntimeOptions ro = RuntimeOptions.defaults().withCoreMask(o.coreMask()).withMemSizeMb(o.memSizeMb())
                .withHugeDir(o.hugeDir()).withNoHuge(o.noHuge()).withIdleMode(o.idleMode()).withIovaMode(o.iovaMode())
                .withRpcSocket(o.rpcSocket()).withWaitForRpc(true); // SPDK's order: config's startup part, then init
        UstorRuntime rt;
        try {
            rt = UstorRuntime.start(ro);
        } catch (IOException | RuntimeException e) {
            System.err.println("ustord: cannot start: " + e.getMessage());
            return 1;
        }
        rt.shutdownRequested().thenAccept(stop::complete);
        if (o.vhostSockDir() != null) { // -S: before any config creates a vhost controller
            rt.context().put(VhostSocketDirectory.class, new VhostSocketDirectory(o.vhostSockDir()));
        }
        Thread init = Thread.ofPlatform().name("ustord-init").daemon().start(() -> {
            try {
                initialise(rt, o);
                printSummary(rt, o, out);
            } catch (Exception e) {
                System.err.println("ustord: " + e.getMessage());
                stop.complete("init failed");
            }
        });
        String reason;
        try {
            reason = stop.get();
        } catch (InterruptedException | ExecutionException e) {
            reason = e.toString();
        }
        boolean failed = reason.equals("init failed");
        out.println("ustord: shutting down (" + reason + ")");
        rt.close();
        init.interrupt();
        out.println("ustord: stopped");
        out.flush();
        return failed ? 1 : 0;
    }

    /** Config file, else the built-in default; with --wait-for-rpc the runtime part waits for framework_start_init. */
    private static void initialise(UstorRuntime rt, UstordOptions o) throws IOException, RpcException {
        boolean startInit = !o.waitForRpc();
        if (o.config() != null) {
            JsonConfigLoader.apply(rt.rpc(), JsonConfigLoader.parse(o.config()), o.config().toString(), startInit);
        } else if (o.waitForRpc()) {
            System.out.println("ustord: waiting for framework_start_init on " + rt.rpcSocket());
            JsonConfigLoader.apply(rt.rpc(), rt.rpc().mapper().createObjectNode(), "(no config)", false);
        } else {
            try (InputStream in = Ustord.class.getResourceAsStream(DEFAULT_CONFIG)) {
                if (in == null) {
                    throw new IOException("built-in " + DEFAULT_CONFIG + " is missing from the jar");
                }
                JsonConfigLoader.apply(rt.rpc(), rt.rpc().mapper().readTree(in), "built-in default config", true);
            }
        }
    }

    private static void printSummary(UstorRuntime rt, UstordOptions o, PrintStream out) {
        var reactors = rt.reactors();
        StringBuilder cores = new StringBuilder();
        for (var r : reactors.reactors()) {
            cores.append(cores.isEmpty() ? "" : ",").append(r.core());
        }
        out.println("ustord " + UstorVersion.current().banner() + ", pid " + ProcessHandle.current().pid());
        out.println("  cores:      " + reactors.coreMask() + " (" + reactors.size() + " reactor"
                + (reactors.size() == 1 ? "" : "s") + " on core " + cores + ", " + o.idleMode().name().toLowerCase()
                + " when idle)");
        out.println("  memory:     " + memoryLine(rt.dma(), o));
        StringBuilder fronts = new StringBuilder();
        for (Subsystem s : rt.subsystems()) {
            if (s.name().equals("bdev")) {
                out.println("  bdevs:      " + s.summary());
                continue;
            }
            if (UstorRuntime.isSettingsOnly(s.name())) {
                continue;
            }
            String sum = s.summary();
            fronts.append(fronts.isEmpty() ? "" : "; ").append(s.name()).append(sum.isEmpty() ? "" : " (" + sum + ")");
        }
        out.println("  front ends: " + (fronts.isEmpty() ? "none" : fronts));
        out.println("  RPC socket: " + rt.rpcSocket());
        out.println("ustord: ready");
        out.flush();
    }

    private static String memoryLine(DmaMemory m, UstordOptions o) {
        String size = o.memSizeMb() > 0 ? o.memSizeMb() + " MiB reserved" : "grows on demand";
        if (m.hugepages() && m.dmaCapable()) {
            return "hugepages, DMA-capable (" + (m.hugetlbfsDir() != null ? "hugetlbfs " + m.hugetlbfsDir()
                    : "anonymous MAP_HUGETLB") + ", " + size + ", IOVA " + m.iovaMode().name().toLowerCase() + ")";
        }
        String why = o.noHuge() ? "--no-huge given" : m.notDmaCapableReason();
        return "ordinary locked memory, not DMA-capable: " + (why == null ? "no hugepages" : why) + " (" + size
                + "; fine for RAM bdevs, not for device drivers)";
    }

}
