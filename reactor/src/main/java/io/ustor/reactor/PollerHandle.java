package io.ustor.reactor;

/** A registered poller. */
public interface PollerHandle {
    /**
     * Removes the poller; it does not run again once this returns on its reactor's thread (from another thread, the
     * removal is sent to the reactor and applies shortly after). Idempotent.
     */
    void unregister();

    /** The name given at registration (shown in stats). */
    String name();
}
