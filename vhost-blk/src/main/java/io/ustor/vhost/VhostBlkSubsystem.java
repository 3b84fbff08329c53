package io.ustor.vhost;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.Errno;
import io.ustor.env.NativeException;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.ReactorGroup;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SPDK's vhost-blk RPC methods ({@code vhost_create_blk_controller}, {@code vhost_get_controllers},
 * {@code vhost_delete_controller}) and the virtio-user bdev's ({@code bdev_virtio_attach_controller -t user -d blk},
 * {@code bdev_virtio_detach_controller}), with SPDK's parameter names.
 */
public final class VhostBlkSubsystem implements Subsystem {
    private static final System.Logger LOG = System.getLogger(VhostBlkSubsystem.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** How often an attached virtio bdev tries to reach a back end that went away. */
    static final long RECONNECT_RETRY_MILLIS = 1000;

    private BdevRegistry bdevs;
    private ReactorGroup reactors;
    private SubsystemContext context;
    private final Map<String, VhostBlkController> controllers = new LinkedHashMap<>();
    /** Attached virtio bdevs and the parameters that made them (for save_config). */
    private final Map<String, ObjectNode> virtio = new LinkedHashMap<>();

    @Override
    public String name() {
        return "vhost_blk";
    }

    @Override
    public List<String> dependsOn() {
        return List.of("bdev");
    }

    @Override
    public void registerMethods(RpcRegistry r, SubsystemContext ctx) {
        this.bdevs = ctx.get(BdevRegistry.class);
        this.reactors = ctx.get(ReactorGroup.class);
        this.context = ctx;
        r.register("vhost_create_blk_controller", this::create);
        r.register("vhost_get_controllers", this::list);
        r.register("vhost_delete_controller", this::delete);
        r.register("bdev_virtio_attach_controller", this::attach);
        r.register("bdev_virtio_detach_controller", this::detach);
    }

    /**
     * Looked up on each use, not at registration: ustord puts its {@code -S} directory into the context after the
     * subsystems registered their methods (and before any config runs).
     */
    private Path socketDir() {
        return context.find(VhostSocketDirectory.class).orElseGet(VhostSocketDirectory::fallback).path();
    }

    private synchronized Object create(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("ctrlr", "dev_name", "cpumask", "readonly", "packed_ring", "transport"));
        String ctrlr = p.requiredString("ctrlr");
        String dev = p.requiredString("dev_name");
        String transport = p.optionalString("transport", "vhost_user_blk");
        if (!transport.equals("vhost_user_blk")) {
            throw RpcException.invalidParams("transport " + transport + " is not supported (only vhost_user_blk)");
        }
        if (controllers.containsKey(ctrlr)) {
            throw RpcException.errno(Errno.EEXIST, "vhost controller " + ctrlr + " already exists");
        }
        CoreMask mask = null;
        String cpumask = p.optionalString("cpumask", null);
        if (cpumask != null) {
            try {
                mask = CoreMask.parse(cpumask);
            } catch (IllegalArgumentException e) {
                throw RpcException.invalidParams("cpumask: " + e.getMessage());
            }
            for (int core : mask.cores()) {
                if (!reactors.coreMask().contains(core)) {
                    throw RpcException.invalidParams("cpumask " + cpumask + " is not within the reactor mask " + reactors.coreMask());
                }
            }
        }
        VhostBlkOptions o;
        try {
            o = new VhostBlkOptions(ctrlr, socketDir(), dev, mask, p.optionalBool("readonly", false),
                    p.optionalBool("packed_ring", false),
                    VhostBlkOptions.DEFAULT_MAX_QUEUES);
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
        try {
            controllers.put(ctrlr, VhostBlkController.create(o, bdevs));
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        } catch (NativeException e) {
            throw RpcException.errno(e.errno(), "vhost " + ctrlr + ": " + e.getMessage());
        }
        return Boolean.TRUE;
    }

    private synchronized Object list(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("name"));
        String name = p.optionalString("name", null);
        if (name != null && !controllers.containsKey(name)) {
            throw RpcException.errno(Errno.ENODEV, "vhost controller " + name + " not found");
        }
        ArrayNode out = MAPPER.createArrayNode();
        for (VhostBlkController c : controllers.values()) {
            if (name != null && !c.name().equals(name)) {
                continue;
            }
            ObjectNode n = out.addObject();
            n.put("ctrlr", c.name());
            n.put("cpumask", c.options().cpumask() == null ? reactors.coreMask().toString() : c.options().cpumask().toString());
            n.put("delay_base_us", 0);
            n.put("iops_threshold", 0);
            n.put("socket", c.options().socketPath().toString());
            n.put("sessions", c.connected() ? 1 : 0);
            ObjectNode block = n.putObject("backend_specific").putObject("block");
            block.put("readonly", c.options().readOnly());
            block.put("bdev", c.bdevName());
            block.put("transport", "vhost_user_blk");
        }
        return out;
    }

    private synchronized Object delete(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("ctrlr"));
        String ctrlr = p.requiredString("ctrlr");
        VhostBlkController c = controllers.remove(ctrlr);
        if (c == null) {
            throw RpcException.errno(Errno.ENODEV, "vhost controller " + ctrlr + " not found");
        }
        c.close();
        return Boolean.TRUE;
    }

    private synchronized Object attach(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("name", "trtype", "traddr", "dev_type", "vq_count", "vq_size"));
        String name = p.requiredString("name");
        String trtype = p.requiredString("trtype");
        String traddr = p.requiredString("traddr");
        String devType = p.requiredString("dev_type");
        if (!trtype.equalsIgnoreCase("user")) {
            throw RpcException.errno(Errno.EOPNOTSUPP, "bdev_virtio_attach_controller: trtype " + trtype + " (only user)");
        }
        if (!devType.equals("blk")) {
            throw RpcException.errno(Errno.EOPNOTSUPP, "bdev_virtio_attach_controller: dev_type " + devType + " (only blk)");
        }
        int vqCount = p.optionalInt("vq_count", 1);
        int vqSize = p.optionalInt("vq_size", 512);
        if (vqCount < 1 || vqCount > 256) {
            throw RpcException.invalidParams("vq_count " + vqCount + " outside 1..256");
        }
        if (vqSize < 4 || vqSize > 32768 || Integer.bitCount(vqSize) != 1) {
            throw RpcException.invalidParams("vq_size " + vqSize + " must be a power of two in 4..32768");
        }
        if (bdevs.lookup(name) != null) {
            throw RpcException.errno(Errno.EEXIST, "bdev " + name + " already exists");
        }
        VirtioUserBlkBdev b;
        try {
            b = VirtioUserBlkBdev.attach(name, Path.of(traddr), vqCount, vqSize);
        } catch (NativeException e) {
            throw RpcException.errno(e.errno(), "bdev_virtio_attach_controller " + name + " (" + traddr + ")");
        } catch (IOException | RuntimeException e) {
            throw RpcException.errno(Errno.EIO, "bdev_virtio_attach_controller " + name + " (" + traddr + "): " + e.getMessage());
        }
        try {
            bdevs.register(b);
        } catch (BdevException e) {
            b.detachUnregistered();
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        // Like QEMU with reconnect=1: a back end that restarts (another ustord) gets the device again, and with the
        // inflight buffer resubmits what it had taken; meanwhile I/O waits in the rings.
        b.client().enableReconnect(RECONNECT_RETRY_MILLIS);
        ObjectNode params = MAPPER.createObjectNode();
        params.put("name", name).put("trtype", "user").put("traddr", traddr).put("dev_type", "blk")
                .put("vq_count", vqCount).put("vq_size", vqSize);
        virtio.put(name, params);
        ArrayNode names = MAPPER.createArrayNode();
        names.add(name);
        return names;
    }

    private Object detach(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("name"));
        String name = p.requiredString("name");
        synchronized (this) {
            if (virtio.remove(name) == null) {
                throw RpcException.errno(Errno.ENODEV, "virtio controller " + name + " not found");
            }
        }
        return bdevs.unregister(name).thenApply(v -> Boolean.TRUE);
    }

    @Override
    public synchronized List<ObjectNode> saveConfig() {
        List<ObjectNode> out = new ArrayList<>();
        // Virtio bdevs first: a controller may serve one.
        for (ObjectNode params : virtio.values()) {
            out.add(call("bdev_virtio_attach_controller", params.deepCopy()));
        }
        for (VhostBlkController c : controllers.values()) {
            ObjectNode params = MAPPER.createObjectNode();
            params.put("ctrlr", c.name()).put("dev_name", c.bdevName());
            if (c.options().cpumask() != null) {
                params.put("cpumask", c.options().cpumask().toString());
            }
            params.put("readonly", c.options().readOnly()).put("packed_ring", c.options().packedRing());
            out.add(call("vhost_create_blk_controller", params));
        }
        return out;
    }

    private static ObjectNode call(String method, ObjectNode params) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("method", method);
        n.set("params", params);
        return n;
    }

    @Override
    public synchronized String summary() {
        StringBuilder s = new StringBuilder();
        for (VhostBlkController c : controllers.values()) {
            s.append(s.isEmpty() ? "" : ", ").append(c.name()).append(" -> bdev ").append(c.bdevName())
                    .append(c.options().readOnly() ? " (read-only)" : "");
        }
        return (s.isEmpty() ? "no controllers" : s) + "; sockets in " + socketDir();
    }

    @Override
    public synchronized void shutdown() {
        for (VhostBlkController c : controllers.values()) {
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "vhost " + c.name() + ": shutdown failed", e);
            }
        }
        controllers.clear();
        for (String name : new ArrayList<>(virtio.keySet())) {
            try {
                bdevs.unregister(name).join();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "bdev " + name + ": detach failed", e);
            }
        }
        virtio.clear();
    }
}
