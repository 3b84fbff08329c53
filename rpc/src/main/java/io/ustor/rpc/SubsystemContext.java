package io.ustor.rpc;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The daemon's shared services, keyed by type, for subsystems that plug in without a compile-time dependency on
 * the daemon: the daemon puts its ReactorGroup, BdevRegistry, DmaMemory, IoBufferPool here.
 */
public final class SubsystemContext {
    private final ConcurrentHashMap<Class<?>, Object> services = new ConcurrentHashMap<>();

    public <T> void put(Class<T> type, T service) {
        services.put(type, type.cast(service));
    }

    /** A service made on first {@link #get} (e.g. a buffer pool that costs memory nobody may need). */
    public <T> void putLazy(Class<T> type, Supplier<T> factory) {
        services.put(type, new Lazy<>(factory));
    }

    /** The service of this type; IllegalStateException when the daemon provides none. */
    public <T> T get(Class<T> type) {
        return find(type).orElseThrow(
                () -> new IllegalStateException("no " + type.getName() + " in the subsystem context"));
    }

    public <T> Optional<T> find(Class<T> type) {
        Object s = services.get(type);
        if (s instanceof Lazy<?> lazy) {
            s = lazy.get();
        }
        return Optional.ofNullable(type.cast(s));
    }

    private static final class Lazy<T> {
        private final Supplier<T> factory;
        private T value;

        Lazy(Supplier<T> factory) {
            this.factory = factory;
        }

        synchronized T get() {
            if (value == null) {
                value = factory.get();
            }
            return value;
        }
    }
}
