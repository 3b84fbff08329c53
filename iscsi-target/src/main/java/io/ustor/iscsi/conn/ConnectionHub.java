package io.ustor.iscsi.conn;

import io.ustor.iscsi.ConnectionInfo;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

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

    /** Closes the sessions of a target on every reactor. */
    public CompletableFuture<Void> closeTarget(String targetName) {
        List<CompletableFuture<Object>> fs = new ArrayList<>();
        for (Reactor r : group.reactors()) {
            fs.add(r.call(() -> {
                NetworkPoller p = pollers[r.index()];
                if (p != null) {
                    p.closeTarget(targetName, "target deleted");
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0]));
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
