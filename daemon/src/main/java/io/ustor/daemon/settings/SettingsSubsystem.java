package io.ustor.daemon.settings;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.rpc.RpcMethod;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;

import java.util.ArrayList;
import java.util.List;

/**
 * A subsystem of SPDK's framework that holds only settings (iobuf, sock, accel, keyring): its set-options methods,
 * and their calls in save_config, so that a config SPDK saved loads into ustor and saves back the same.
 */
public final class SettingsSubsystem implements Subsystem {
    /** When a method may be called, as SPDK registers it. */
    public enum When { STARTUP, STARTUP_AND_RUNTIME, RUNTIME }

    private record Entry(OptionsMethod method, When when, boolean alwaysSaved) {
    }

    private record Extra(String name, RpcMethod method, When when) {
    }

    private final String name;
    private final List<Entry> entries = new ArrayList<>();
    private final List<Extra> extras = new ArrayList<>();

    public SettingsSubsystem(String name) {
        this.name = name;
    }

    /**
     * Adds a method; {@code alwaysSaved}: save_config writes it even when never called (its values are what ustor
     * uses), else only once a call set it.
     */
    public SettingsSubsystem with(OptionsMethod m, When when, boolean alwaysSaved) {
        entries.add(new Entry(m, when, alwaysSaved));
        return this;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void registerMethods(RpcRegistry registry, SubsystemContext ctx) {
        for (Entry e : entries) {
            register(registry, e.method().name(), e.method()::call, e.when());
        }
        for (Extra e : extras) {
            register(registry, e.name(), e.method(), e.when());
        }
    }

    static void register(RpcRegistry registry, String name, RpcMethod m, When when) {
        switch (when) {
            case STARTUP -> registry.registerStartupOnly(name, m);
            case STARTUP_AND_RUNTIME -> registry.register(name, m, true);
            case RUNTIME -> registry.register(name, m);
        }
    }

    /** Registers a further method (a getter) alongside the set-options ones. */
    public SettingsSubsystem withMethod(String method, RpcMethod m, When when) {
        extras.add(new Extra(method, m, when));
        return this;
    }

    @Override
    public List<ObjectNode> saveConfig() {
        List<ObjectNode> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.alwaysSaved() || e.method().wasSet()) {
                out.add(e.method().configEntry());
            }
        }
        return out;
    }
}
