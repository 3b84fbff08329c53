package io.ustor.iscsi;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.IoBufferPool;
import io.ustor.env.net.SocketBuffers;
import io.ustor.iscsi.conn.ConnectionHub;
import io.ustor.iscsi.conn.IscsiConnection;
import io.ustor.iscsi.conn.PortalListener;
import io.ustor.iscsi.conn.TargetContext;
import io.ustor.reactor.ReactorGroup;
import io.ustor.scsi.ScsiLun;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The iSCSI target: portal groups, initiator groups, auth groups and target nodes, and the connections they
 * serve on the reactors. The embeddable API used by the daemon (through {@link IscsiSubsystem}'s RPC methods)
 * and by tests. Configuration methods are control plane (any non-reactor thread; they may block briefly).
 */
public final class IscsiTarget implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IscsiTarget.class.getName());
    /**
     * How long an initiator has to log out when its target is deleted or the daemon stops (Async Message
     * Parameter3): enough for a loaded initiator to answer, short enough not to hold a shutdown up.
     */
    static final int LOGOUT_REQUEST_SECONDS = 3;

    private final ReactorGroup reactors;
    private final BdevRegistry bdevs;
    private volatile IscsiOptions options;
    private final IoBufferPool bufferPool;
    private volatile SocketBuffers socketBuffers = new SocketBuffers();
    private final Map<Integer, PortalGroup> portalGroups = new ConcurrentHashMap<>();
    private final Map<Integer, List<PortalListener>> listeners = new ConcurrentHashMap<>();
    private final Map<Integer, InitiatorGroup> initiatorGroups = new ConcurrentHashMap<>();
    private final Map<Integer, AuthGroup> authGroups = new ConcurrentHashMap<>();
    private final Map<String, TargetNode> targets = new ConcurrentHashMap<>();
    private final List<String> targetOrder = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<String, List<BdevDesc>> targetDescs = new ConcurrentHashMap<>();
    private final Map<String, IscsiConnection> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger nextTsih = new AtomicInteger(1);
    private final AtomicInteger connectionCount = new AtomicInteger();
    private final ConnectionHub hub;
    private volatile boolean closed;

    private IscsiTarget(ReactorGroup reactors, BdevRegistry bdevs, IscsiOptions options, IoBufferPool bufferPool) {
        this.reactors = reactors;
        this.bdevs = bdevs;
        this.options = options;
        this.bufferPool = bufferPool;
        this.hub = new ConnectionHub(reactors, new Context());
    }

    /** Starts an iSCSI target on {@code reactors} serving bdevs of {@code bdevs}; it listens once a portal group exists. */
    public static IscsiTarget start(ReactorGroup reactors, BdevRegistry bdevs, IscsiOptions options) {
        return new IscsiTarget(reactors, bdevs, options, null);
    }

    /**
     * As {@link #start(ReactorGroup, BdevRegistry, IscsiOptions)}, with command data buffers taken from
     * {@code bufferPool} (SPDK's iobuf) where a transfer fits one; the caller closes the pool after this target.
     */
    public static IscsiTarget start(ReactorGroup reactors, BdevRegistry bdevs, IscsiOptions options,
                                    IoBufferPool bufferPool) {
        return new IscsiTarget(reactors, bdevs, options, bufferPool);
    }

    public IscsiOptions options() {
        return options;
    }

    /** Socket buffer sizes for the connections accepted from now on (the daemon's sock_impl_set_options). */
    public void useSocketBuffers(SocketBuffers b) {
        socketBuffers = b;
    }

    /** Replaces the options; new sessions negotiate with them. */
    public void setOptions(IscsiOptions o) {
        this.options = o;
    }

    // ---- portal groups ----

    /**
     * Creates a portal group and starts listening on its portals. A port 0 binds a free port: the returned group
     * holds the ports actually bound.
     */
    public synchronized PortalGroup createPortalGroup(int tag, List<Portal> portals, boolean privateGroup) {
        if (portalGroups.containsKey(tag)) {
            throw new IllegalArgumentException("portal group " + tag + " exists");
        }
        List<PortalListener> ls = new ArrayList<>();
        List<Portal> bound = new ArrayList<>();
        try {
            for (Portal p : portals) {
                PortalListener l = new PortalListener(reactors, hub, tag, p.host(), p.port());
                ls.add(l);
                InetSocketAddress a = l.boundAddress();
                bound.add(new Portal(p.host(), a.getPort()));
            }
            for (PortalListener l : ls) {
                l.start().join();
            }
        } catch (RuntimeException e) {
            for (PortalListener l : ls) {
                l.stop();
            }
            throw e;
        }
        PortalGroup pg = new PortalGroup(tag, bound, privateGroup);
        portalGroups.put(tag, pg);
        listeners.put(tag, ls);
        LOG.log(System.Logger.Level.INFO, "iscsi portal group {0}: listening on {1}", tag, bound);
        return pg;
    }

    public synchronized void deletePortalGroup(int tag) {
        for (TargetNode t : targets.values()) {
            for (PgIgMapping m : t.mappings()) {
                if (m.portalGroupTag() == tag) {
                    throw new IllegalStateException("portal group " + tag + " is used by " + t.name());
                }
            }
        }
        PortalGroup pg = portalGroups.remove(tag);
        if (pg == null) {
            throw new IllegalArgumentException("no portal group " + tag);
        }
        for (PortalListener l : listeners.remove(tag)) {
            l.stop().join();
        }
    }

    public PortalGroup portalGroup(int tag) {
        return portalGroups.get(tag);
    }

    public List<PortalGroup> portalGroups() {
        List<PortalGroup> l = new ArrayList<>(portalGroups.values());
        l.sort((a, b) -> Integer.compare(a.tag(), b.tag()));
        return l;
    }

    // ---- initiator groups ----

    public InitiatorGroup createInitiatorGroup(int tag, List<String> initiators, List<String> netmasks) {
        InitiatorGroup g = new InitiatorGroup(tag, initiators, netmasks);
        if (initiatorGroups.putIfAbsent(tag, g) != null) {
            throw new IllegalArgumentException("initiator group " + tag + " exists");
        }
        return g;
    }

    /** Adds initiators / netmasks to a group (iscsi_initiator_group_add_initiators). */
    public synchronized InitiatorGroup addToInitiatorGroup(int tag, List<String> initiators, List<String> netmasks) {
        InitiatorGroup g = initiatorGroups.get(tag);
        if (g == null) {
            throw new IllegalArgumentException("no initiator group " + tag);
        }
        List<String> i = new ArrayList<>(g.initiators());
        i.addAll(initiators);
        List<String> n = new ArrayList<>(g.netmasks());
        n.addAll(netmasks);
        InitiatorGroup ng = new InitiatorGroup(tag, i, n);
        initiatorGroups.put(tag, ng);
        return ng;
    }

    public synchronized void deleteInitiatorGroup(int tag) {
        if (initiatorGroups.remove(tag) == null) {
            throw new IllegalArgumentException("no initiator group " + tag);
        }
    }

    public InitiatorGroup initiatorGroup(int tag) {
        return initiatorGroups.get(tag);
    }

    public List<InitiatorGroup> initiatorGroups() {
        List<InitiatorGroup> l = new ArrayList<>(initiatorGroups.values());
        l.sort((a, b) -> Integer.compare(a.tag(), b.tag()));
        return l;
    }

    // ---- auth groups ----

    public AuthGroup createAuthGroup(int tag, List<ChapSecret> secrets) {
        AuthGroup g = new AuthGroup(tag, secrets);
        if (authGroups.putIfAbsent(tag, g) != null) {
            throw new IllegalArgumentException("auth group " + tag + " exists");
        }
        return g;
    }

    public void deleteAuthGroup(int tag) {
        if (authGroups.remove(tag) == null) {
            throw new IllegalArgumentException("no auth group " + tag);
        }
    }

    public AuthGroup authGroup(int tag) {
        return authGroups.get(tag);
    }

    public List<AuthGroup> authGroups() {
        List<AuthGroup> l = new ArrayList<>(authGroups.values());
        l.sort((a, b) -> Integer.compare(a.tag(), b.tag()));
        return l;
    }

    // ---- target nodes ----

    /**
     * Creates a target node. {@code name} without "iqn."/"eui."/"naa." gets the node base prefixed (SPDK:
     * "disk1" becomes "iqn.2016-06.io.spdk:disk1"). The bdevs are opened for writing now.
     */
    public synchronized TargetNode createTargetNode(String name, String alias, List<PgIgMapping> mappings,
                                                    List<LunSpec> luns, int queueDepth, ChapPolicy chap,
                                                    boolean headerDigest, boolean dataDigest) {
        String full = fullName(name);
        if (targets.containsKey(full)) {
            throw new IllegalArgumentException("target " + full + " exists");
        }
        if (mappings.isEmpty()) {
            throw new IllegalArgumentException("target " + full + " needs at least one portal group / initiator group pair");
        }
        for (PgIgMapping m : mappings) {
            if (!portalGroups.containsKey(m.portalGroupTag())) {
                throw new IllegalArgumentException("no portal group " + m.portalGroupTag());
            }
            if (!initiatorGroups.containsKey(m.initiatorGroupTag())) {
                throw new IllegalArgumentException("no initiator group " + m.initiatorGroupTag());
            }
        }
        if (queueDepth < 1 || queueDepth > options.maxQueueDepth()) {
            throw new IllegalArgumentException("queue depth " + queueDepth + " outside 1.." + options.maxQueueDepth());
        }
        if (chap.group() != 0 && !authGroups.containsKey(chap.group())) {
            throw new IllegalArgumentException("no auth group " + chap.group());
        }
        TargetNode t = new TargetNode(full, alias, mappings, queueDepth, chap, headerDigest, dataDigest);
        List<BdevDesc> descs = new ArrayList<>();
        try {
            for (LunSpec l : luns) {
                descs.add(openLun(t, l));
            }
        } catch (RuntimeException e) {
            for (BdevDesc d : descs) {
                d.close();
            }
            throw e;
        }
        targetDescs.put(full, new java.util.concurrent.CopyOnWriteArrayList<>(descs));
        targets.put(full, t);
        targetOrder.add(full);
        LOG.log(System.Logger.Level.INFO, "iscsi target {0}: {1} LUN(s)", full, luns.size());
        return t;
    }

    private BdevDesc openLun(TargetNode t, LunSpec l) {
        if (t.lun(l.lunId()) != null) {
            throw new IllegalArgumentException("target " + t.name() + " already has LUN " + l.lunId());
        }
        BdevDesc desc = bdevs.open(l.bdevName(), !l.readOnly(), (type, d) ->
                LOG.log(System.Logger.Level.WARNING, "target {0} LUN {1}: bdev event {2}", t.name(), l.lunId(), type));
        try {
            t.addLun(new ScsiLun(l.lunId(), desc, l.readOnly(), l.removable()));
        } catch (RuntimeException e) {
            desc.close();
            throw e;
        }
        return desc;
    }

    /** Adds a LUN to a target (lunId -1: the lowest free id); returns the LUN id. */
    public synchronized int addLun(String targetName, String bdevName, int lunId) {
        return addLun(targetName, new LunSpec(bdevName, Math.max(lunId, 0)), lunId < 0);
    }

    /** Adds a LUN with options; {@code anyId} picks the lowest free id instead of the spec's. */
    public synchronized int addLun(String targetName, LunSpec spec, boolean anyId) {
        TargetNode t = targets.get(fullName(targetName));
        if (t == null) {
            throw new IllegalArgumentException("no target " + targetName);
        }
        int id = anyId ? t.nextFreeLunId() : spec.lunId();
        BdevDesc d = openLun(t, new LunSpec(spec.bdevName(), id, spec.readOnly(), spec.removable()));
        targetDescs.get(t.name()).add(d);
        return id;
    }

    /** Deletes a target: its sessions end, its bdevs are closed. */
    public CompletableFuture<Void> deleteTargetNode(String name) {
        String full = fullName(name);
        TargetNode t;
        synchronized (this) {
            t = targets.remove(full);
            targetOrder.remove(full);
        }
        if (t == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no target " + name));
        }
        t.markDeleted();
        return hub.endSessions(full, LOGOUT_REQUEST_SECONDS, "target deleted").thenRun(() -> {
            List<BdevDesc> ds = targetDescs.remove(full);
            if (ds != null) {
                for (BdevDesc d : ds) {
                    d.close();
                }
            }
        });
    }

    public TargetNode targetNode(String name) {
        return targets.get(fullName(name));
    }

    public List<TargetNode> targetNodes() {
        List<TargetNode> l = new ArrayList<>();
        for (String n : targetOrder) {
            TargetNode t = targets.get(n);
            if (t != null) {
                l.add(t);
            }
        }
        return l;
    }

    /** The name with the node base prefixed when it has no iqn./eui./naa. prefix. */
    public String fullName(String name) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (lower.startsWith("iqn.") || lower.startsWith("eui.") || lower.startsWith("naa.")) {
            return name;
        }
        return options.nodeBase() + ":" + name;
    }

    /** Bound address of the first portal of a group (handy for tests binding port 0). */
    public InetSocketAddress boundAddress(int portalGroupTag) {
        List<PortalListener> ls = listeners.get(portalGroupTag);
        if (ls == null || ls.isEmpty()) {
            throw new IllegalArgumentException("no portal group " + portalGroupTag);
        }
        return ls.getFirst().boundAddress();
    }

    /** The connections now open, from every reactor. */
    public List<ConnectionInfo> connections() {
        return hub.describe().join();
    }

    public int sessionCount() {
        return sessions.size();
    }

    /** Stops listening and closes every connection; bdev descriptors are closed. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (List<PortalListener> ls : listeners.values()) {
            for (PortalListener l : ls) {
                try {
                    l.stop().join();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "stopping a portal", e);
                }
            }
        }
        listeners.clear();
        try {
            hub.endSessions(null, LOGOUT_REQUEST_SECONDS, "target shutdown").join();
            hub.stop().join();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "closing connections", e);
        }
        for (List<BdevDesc> ds : targetDescs.values()) {
            for (BdevDesc d : ds) {
                d.close();
            }
        }
        targetDescs.clear();
    }

    /** Snapshot of sessions for diagnostics: key -> connection name. */
    public Map<String, String> sessions() {
        Map<String, String> m = new LinkedHashMap<>();
        sessions.forEach((k, c) -> m.put(k, c.name()));
        return m;
    }

    /** The connection-side view of this target. */
    private final class Context implements TargetContext {
        @Override
        public IscsiOptions options() {
            return options;
        }

        @Override
        public IoBufferPool bufferPool() {
            return bufferPool;
        }

        @Override
        public SocketBuffers socketBuffers() {
            return socketBuffers;
        }

        @Override
        public TargetNode findTarget(String name) {
            return targets.get(name);
        }

        @Override
        public List<TargetNode> targets() {
            return targetNodes();
        }

        @Override
        public PortalGroup portalGroup(int tag) {
            return portalGroups.get(tag);
        }

        @Override
        public InitiatorGroup initiatorGroup(int tag) {
            return initiatorGroups.get(tag);
        }

        @Override
        public AuthGroup authGroup(int tag) {
            return authGroups.get(tag);
        }

        @Override
        public int allocateTsih() {
            while (true) {
                int v = nextTsih.getAndIncrement() & 0xffff;
                if (v != 0) {
                    return v;
                }
            }
        }

        @Override
        public IscsiConnection registerSession(String key, IscsiConnection conn) {
            if (options.allowDuplicatedIsid()) {
                sessions.put(key + "#" + System.identityHashCode(conn), conn);
                return null;
            }
            return sessions.put(key, conn);
        }

        @Override
        public void unregisterSession(String key, IscsiConnection conn) {
            sessions.remove(key, conn);
            sessions.remove(key + "#" + System.identityHashCode(conn), conn);
        }

        @Override
        public int sessionCount() {
            return sessions.size();
        }

        @Override
        public void connectionOpened(IscsiConnection c) {
            connectionCount.incrementAndGet();
        }

        @Override
        public void connectionClosed(IscsiConnection c) {
            connectionCount.decrementAndGet();
        }

        @Override
        public void forEachConnection(java.util.function.Consumer<IscsiConnection> visitor, Runnable onDone) {
            hub.forEachConnection(visitor, onDone);
        }
    }
}
