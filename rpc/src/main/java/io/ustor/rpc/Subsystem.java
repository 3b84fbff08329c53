package io.ustor.rpc;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * An SPDK "subsystem" as it appears in a JSON config ({@code bdev}, {@code iscsi}, {@code nvmf}, {@code vhost_blk}):
 * it registers its RPC methods and can write the calls that recreate its current state. Front ends provide one
 * through {@link java.util.ServiceLoader} ({@code META-INF/services/io.ustor.rpc.Subsystem}); the daemon finds them
 * without knowing the modules.
 */
public interface Subsystem {
    /** The name used in config files and {@code framework_get_config}, e.g. "bdev". */
    String name();

    /** Subsystems whose config must be applied before this one (e.g. iscsi on bdev). */
    default List<String> dependsOn() {
        return List.of();
    }

    /** Registers this subsystem's methods; {@code ctx} holds the daemon's shared services. */
    void registerMethods(RpcRegistry registry, SubsystemContext ctx);

    /**
     * The calls that recreate the current state, in order: {@code [{"method": "...", "params": {...}}]}.
     * Called on the RPC worker thread.
     */
    List<ObjectNode> saveConfig();

    /** What it serves right now in a few words (e.g. "portal 127.0.0.1:3260, 1 target"), for the startup summary. */
    default String summary() {
        return "";
    }

    /** Daemon shutdown, in reverse dependency order: stop serving, release what this subsystem owns. */
    default void shutdown() {
    }
}
