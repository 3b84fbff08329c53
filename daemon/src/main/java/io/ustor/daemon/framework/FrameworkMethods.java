package io.ustor.daemon.framework;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.UstorRuntime;
import io.ustor.daemon.UstorVersion;
import io.ustor.reactor.PollerStats;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorStats;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The application-level methods SPDK's app framework provides: rpc_get_methods, spdk_get_version,
 * framework_start_init, framework_wait_init, framework_get_reactors, thread_get_stats, framework_get_subsystems,
 * framework_get_config, spdk_kill_instance, and save_config (which rpc.py assembles on the client side from
 * framework_get_subsystems and framework_get_config; ustord also answers it directly).
 *
 * <p>ustor has no lightweight threads on top of its reactors: each reactor is one thread, so thread_get_stats
 * and the "lw_threads" of framework_get_reactors list the reactors themselves.
 */
public final class FrameworkMethods {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Set<String> GET_METHODS_PARAMS = Set.of("current", "include_aliases");
    private static final Set<String> GET_CONFIG_PARAMS = Set.of("name", "with_batches");
    private static final Set<String> KILL_PARAMS = Set.of("sig_name");
    private static final Set<String> SIGNALS = Set.of("SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1");

    private final UstorRuntime runtime;
    private final RpcRegistry rpc;

    private FrameworkMethods(UstorRuntime runtime) {
        this.runtime = runtime;
        this.rpc = runtime.rpc();
    }

    public static void register(UstorRuntime runtime) {
        FrameworkMethods m = new FrameworkMethods(runtime);
        RpcRegistry r = runtime.rpc();
        r.register("rpc_get_methods", m::getMethods, true);
        r.register("spdk_get_version", m::getVersion, true);
        LogMethods.register(r);
        r.registerStartupOnly("framework_start_init", m::startInit);
        r.register("framework_wait_init", m::waitInit, true);
        r.register("framework_get_reactors", m::getReactors);
        r.register("thread_get_stats", m::threadStats);
        r.register("framework_get_subsystems", m::getSubsystems, true);
        r.register("framework_get_config", m::getConfig, true);
        r.register("save_config", m::saveConfig, true);
        r.register("spdk_kill_instance", m::kill, true);
    }

    private Object getMethods(RpcParams p) throws RpcException {
        p.allowOnly(GET_METHODS_PARAMS);
        p.optionalBool("include_aliases", false); // ustor has no deprecated aliases
        return rpc.methods(p.optionalBool("current", false));
    }

    private Object getVersion(RpcParams p) throws RpcException {
        p.requireNone("spdk_get_version");
        UstorVersion v = UstorVersion.current();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("major", v.major());
        fields.put("minor", v.minor());
        fields.put("patch", v.patch());
        fields.put("suffix", v.suffix());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("version", v.banner());
        out.put("fields", fields);
        return out;
    }

    private Object startInit(RpcParams p) throws RpcException {
        p.requireNone("framework_start_init");
        runtime.startInit();
        return Boolean.TRUE;
    }

    private Object waitInit(RpcParams p) throws RpcException {
        p.requireNone("framework_wait_init");
        return rpc.runtimeReached().thenApply(v -> Boolean.TRUE);
    }

    private Object getReactors(RpcParams p) throws RpcException {
        p.requireNone("framework_get_reactors");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tick_rate", ReactorStats.TICK_RATE);
        out.put("pid", ProcessHandle.current().pid());
        ArrayNode reactors = MAPPER.createArrayNode();
        for (Reactor r : runtime.reactors().reactors()) {
            ReactorStats s = r.stats();
            ObjectNode o = reactors.addObject();
            o.put("lcore", r.core());
            o.put("tid", r.threadId());
            o.put("busy", s.busyNanos());
            o.put("idle", s.idleNanos());
            o.put("in_interrupt", false);
            o.put("idle_mode", s.idleMode().name().toLowerCase());
            o.put("pinned", s.pinned());
            ObjectNode t = o.putArray("lw_threads").addObject();
            t.put("name", r.name());
            t.put("id", r.index() + 1);
            t.put("cpumask", Long.toHexString(1L << Math.min(r.core(), 63)));
            t.put("elapsed", s.busyNanos() + s.idleNanos());
        }
        out.put("reactors", reactors);
        return out;
    }

    private Object threadStats(RpcParams p) throws RpcException {
        p.requireNone("thread_get_stats");
        ArrayNode threads = MAPPER.createArrayNode();
        for (Reactor r : runtime.reactors().reactors()) {
            ReactorStats s = r.stats();
            List<PollerStats> pollers = r.pollerStats();
            ObjectNode t = threads.addObject();
            t.put("name", r.name());
            t.put("id", r.index() + 1);
            t.put("cpumask", Long.toHexString(1L << Math.min(r.core(), 63)));
            t.put("busy", s.busyNanos());
            t.put("idle", s.idleNanos());
            t.put("in_interrupt", false);
            t.put("active_pollers_count", s.activePollers());
            t.put("timed_pollers_count", s.timedPollers());
            t.put("paused_pollers_count", 0);
            t.put("messages", s.messages());
            t.put("queue_full", s.queueFull());
            t.put("pollers", pollers.size());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tick_rate", ReactorStats.TICK_RATE);
        out.put("threads", threads);
        return out;
    }

    private Object getSubsystems(RpcParams p) throws RpcException {
        p.requireNone("framework_get_subsystems");
        ArrayNode out = MAPPER.createArrayNode();
        for (Subsystem s : runtime.subsystems()) {
            ObjectNode o = out.addObject();
            o.put("subsystem", s.name());
            ArrayNode deps = o.putArray("depends_on");
            s.dependsOn().forEach(deps::add);
        }
        return out;
    }

    private Object getConfig(RpcParams p) throws RpcException {
        p.allowOnly(GET_CONFIG_PARAMS);
        String name = p.requiredString("name");
        p.optionalBool("with_batches", false); // ustor's configs have no batches
        for (Subsystem s : runtime.subsystems()) {
            if (s.name().equals(name)) {
                return configArray(s);
            }
        }
        throw RpcException.invalidParams("parameter 'name': no subsystem " + name);
    }

    private Object saveConfig(RpcParams p) throws RpcException {
        p.requireNone("save_config");
        ObjectNode out = MAPPER.createObjectNode();
        ArrayNode subs = out.putArray("subsystems");
        for (Subsystem s : runtime.subsystems()) {
            ObjectNode o = subs.addObject();
            o.put("subsystem", s.name());
            o.set("config", configArray(s));
        }
        return out;
    }

    private static ArrayNode configArray(Subsystem s) {
        ArrayNode a = MAPPER.createArrayNode();
        for (ObjectNode call : s.saveConfig()) {
            a.add(call);
        }
        return a;
    }

    /** Answers first, then asks the owner to shut down (a moment later, so the answer gets out). */
    private Object kill(RpcParams p) throws RpcException {
        p.allowOnly(KILL_PARAMS);
        String sig = p.requiredString("sig_name");
        String norm = sig.startsWith("SIG") ? sig : "SIG" + sig;
        if (!SIGNALS.contains(norm)) {
            throw RpcException.invalidParams("parameter 'sig_name' must be one of " + SIGNALS + ", not " + sig);
        }
        CompletableFuture.runAsync(() -> {
            if (norm.equals("SIGKILL")) {
                Runtime.getRuntime().halt(137);
            }
            runtime.requestShutdown("spdk_kill_instance " + norm);
        }, CompletableFuture.delayedExecutor(100, TimeUnit.MILLISECONDS));
        return Boolean.TRUE;
    }
}
