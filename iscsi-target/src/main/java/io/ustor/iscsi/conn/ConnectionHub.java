package io.ustor.iscsi.conn;

import io.ustor.iscsi.ConnectionInfo;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The per-reactor {@link NetworkPoller}s of one target: creates a reactor's poller when its first connection
 * arrives, and runs control-plane operations (close a target's sessions, describe, stop) on every reactor.
 */
public final class ConnectionHub implements PortalListener.Connections {
    private final ReactorGroup group;
    private final TargetContext ctx;
    /** Indexed by reactor index; each element written and read only by its reactor. */
    private final NetworkPoller[] pollers;

    public ConnectionHub(ReactorGroup group, TargetContext ctx) {
        this.group = group;
        this.ctx = ctx;
        this.pollers = new NetworkPoller[group.size()];
    }

    @Override
    public void adopt(Reactor r, int fd, int portalGroupTag) {
        NetworkPoller p = pollers[r.index()];
        if (p == null) {
            p = new NetworkPoller(r, ctx);
            p.start();
            pollers[r.index()] = p;
        }
        p.adopt(fd, portalGroupTag);
    }

    /**
     * Ends the sessions of a target (all targets when {@code targetName} is null) on every reactor: each initiator
     * is asked to log out within {@code seconds}; the future completes once every such connection has closed (its
     * Logout, or the deadline).
     */
    public CompletableFuture<Void> endSessions(String targetName, int seconds, String why) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        openConnections(targetName, seconds, why).whenComplete((n, e) -> {
            if (e != null || n == 0) {
                done.complete(null);
            } else {
                awaitClosed(targetName, System.nanoTime() + (seconds + 2) * 1_000_000_000L, done);
            }
        });
        return done;
    }

    /** Polls (off the reactors) until none of the target's connections is open, or a safety deadline passes. */
    private void awaitClosed(String targetName, long deadline, CompletableFuture<Void> done) {
        CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS).execute(() ->
                openConnections(targetName, 0, null).whenComplete((n, e) -> {
                    if (e != null || n == 0 || System.nanoTime() - deadline > 0) {
                        done.complete(null);
                    } else {
                        awaitClosed(targetName, deadline, done);
                    }
                }));
    }

    /** Counts the target's open connections on every reactor; with {@code seconds > 0} asks each to log out first. */
    private CompletableFuture<Integer> openConnections(String targetName, int seconds, String why) {
        List<CompletableFuture<Integer>> fs = new ArrayList<>();
        for (Reactor r : group.reactors()) {
            fs.add(r.call(() -> {
                NetworkPoller p = pollers[r.index()];
                return p == null ? 0 : p.endSessions(targetName, seconds, why);
            }));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
            int n = 0;
            for (CompletableFuture<Integer> f : fs) {
                n += f.join();
            }
            return n;
        });
    }

    /**
     * Visits every connection on its reactor (all reactors at once), then runs {@code onDone} on the calling reactor
     * (or, called off a reactor, on the thread that finishes the last visit).
     */
    public void forEachConnection(Consumer<IscsiConnection> visitor, Runnable onDone) {
        Reactor origin = Reactor.current();
        AtomicInteger left = new AtomicInteger(group.size());
        for (Reactor r : group.reactors()) {
            r.call(() -> {
                NetworkPoller p = pollers[r.index()];
                if (p != null) {
                    p.forEach(visitor);
                }
                return null;
            }).whenComplete((v, e) -> {
                if (left.decrementAndGet() != 0) {
                    return;
                }
                if (origin == null || origin.isCurrent()) {
                    onDone.run();
                } else {
                    origin.call(() -> {
                        onDone.run();
                        return null;
                    });
                }
            });
        }
    }

    public CompletableFuture<List<ConnectionInfo>> describe() {
        List<CompletableFuture<List<ConnectionInfo>>> fs = new ArrayList<>();
        for (Reactor r : group.reactors()) {
            fs.add(r.call(() -> {
                NetworkPoller p = pollers[r.index()];
                return p == null ? List.<ConnectionInfo>of() : p.describe();
            }));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
            List<ConnectionInfo> all = new ArrayList<>();
            for (CompletableFuture<List<ConnectionInfo>> f : fs) {
                all.addAll(f.join());
            }
            return all;
        });
    }

    public CompletableFuture<Void> stop() {
        List<CompletableFuture<Object>> fs = new ArrayList<>();
        for (Reactor r : group.reactors()) {
            fs.add(r.call(() -> {
                NetworkPoller p = pollers[r.index()];
                if (p != null) {
                    p.stop();
                    pollers[r.index()] = null;
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0]));
    }
}
