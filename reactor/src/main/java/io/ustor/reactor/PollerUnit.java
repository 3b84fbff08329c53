package io.ustor.reactor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A registered poller and its counters. Counters are written by the reactor thread only, with opaque stores, so any
 * thread can read them without tearing.
 */
final class PollerUnit implements PollerHandle {
    static final int PENDING = 0, ACTIVE = 1, REMOVED = 2;
    private static final VarHandle RUNS, BUSY_RUNS, BUSY_NANOS, IDLE_NANOS, EXCEPTIONS, STATE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RUNS = l.findVarHandle(PollerUnit.class, "runCount", long.class).withInvokeExactBehavior();
            BUSY_RUNS = l.findVarHandle(PollerUnit.class, "busyCount", long.class).withInvokeExactBehavior();
            BUSY_NANOS = l.findVarHandle(PollerUnit.class, "busyNanos", long.class).withInvokeExactBehavior();
            IDLE_NANOS = l.findVarHandle(PollerUnit.class, "idleNanos", long.class).withInvokeExactBehavior();
            EXCEPTIONS = l.findVarHandle(PollerUnit.class, "exceptions", long.class).withInvokeExactBehavior();
            STATE = l.findVarHandle(PollerUnit.class, "state", int.class).withInvokeExactBehavior();
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Reactor reactor;
    final String name;
    final Poller poller;
    final long periodNanos;
    /** Timed pollers: when to run next (System.nanoTime). */
    long nextDue;
    /** Interrupt pollers: the descriptor whose readability means work (-1: none). Reactor thread. */
    int interruptFd = -1;
    /** Local pollers: work comes only from this reactor's own activity (see Reactor.addLocalPoller). */
    boolean local;
    private int state;
    private long runCount, busyCount, busyNanos, idleNanos, exceptions;

    PollerUnit(Reactor reactor, String name, Poller poller, long periodNanos) {
        this.reactor = reactor;
        this.name = name;
        this.poller = poller;
        this.periodNanos = periodNanos;
    }

    int state() {
        return (int) STATE.getOpaque(this);
    }

    void state(int s) {
        STATE.setOpaque(this, s);
    }

    /** Counts one run that took {@code nanos} and returned {@code rc}. Reactor thread. */
    void account(int rc, long nanos) {
        RUNS.setOpaque(this, runCount + 1);
        if (rc > 0) {
            BUSY_RUNS.setOpaque(this, busyCount + 1);
            BUSY_NANOS.setOpaque(this, busyNanos + nanos);
        } else {
            IDLE_NANOS.setOpaque(this, idleNanos + nanos);
        }
    }

    /** Counts a throw; returns the new count. Reactor thread. */
    long countException() {
        long n = exceptions + 1;
        EXCEPTIONS.setOpaque(this, n);
        return n;
    }

    PollerStats stats() {
        return new PollerStats(name, reactor.name(), periodNanos, (long) RUNS.getOpaque(this),
                (long) BUSY_RUNS.getOpaque(this), (long) BUSY_NANOS.getOpaque(this), (long) IDLE_NANOS.getOpaque(this),
                (long) EXCEPTIONS.getOpaque(this));
    }

    @Override
    public void unregister() {
        reactor.unregisterPoller(this);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "poller " + name + " on " + reactor.name();
    }
}
