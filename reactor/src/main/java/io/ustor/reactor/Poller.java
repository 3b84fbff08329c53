package io.ustor.reactor;

/** Work a reactor runs every loop iteration (or every period, for a timed poller), on the reactor's thread. */
@FunctionalInterface
public interface Poller {
    /** Does one round of work; returns &gt;0 when it did some (the time counts as busy), 0 when it found none (idle). */
    int poll();
}
