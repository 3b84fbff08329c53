package io.ustor.nvme.rpc;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaMemory;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.bdev.NvmeBdev;
import io.ustor.nvme.bdev.NvmeBdevController;
import io.ustor.reactor.ReactorGroup;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The nvme bdev module's RPC methods, named as SPDK's: {@code bdev_nvme_attach_controller} (name, trtype "PCIe",
 * traddr; returns the bdev names), {@code bdev_nvme_detach_controller} (name), {@code bdev_nvme_get_controllers}
 * (optional name), {@code bdev_nvme_reset_controller} (name). Its config is one attach call per controller.
 */
public final class NvmeSubsystem implements Subsystem {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Set<String> ATTACH_PARAMS = Set.of("name", "trtype", "traddr", "adrfam", "io_queue_size",
            "delay_cmd_submit", "io_timeout_ms");

    private final Map<String, NvmeBdevController> controllers = new LinkedHashMap<>();
    private BdevRegistry bdevs;
    private DmaMemory dma;
    private ReactorGroup reactors;

    @Override
    public String name() {
        return "bdev_nvme";
    }

    @Override
    public void registerMethods(RpcRegistry registry, SubsystemContext ctx) {
        this.bdevs = ctx.get(BdevRegistry.class);
        this.dma = ctx.get(DmaMemory.class);
        this.reactors = ctx.find(ReactorGroup.class).orElse(null);
        registry.register("bdev_nvme_attach_controller", this::attach);
        registry.register("bdev_nvme_detach_controller", this::detach);
        registry.register("bdev_nvme_get_controllers", this::getControllers);
        registry.register("bdev_nvme_reset_controller", this::resetController);
    }

    private Object attach(RpcParams p) throws RpcException {
        p.allowOnly(ATTACH_PARAMS);
        String name = p.requiredString("name");
        String trtype = p.requiredString("trtype");
        if (!trtype.equalsIgnoreCase("PCIe")) {
            throw RpcException.invalidParams("trtype " + trtype + " is not supported: only PCIe (NVMe over TCP/RDMA is not in this module)");
        }
        String traddr = p.requiredString("traddr");
        NvmeControllerOptions o = NvmeControllerOptions.defaults();
        o = o.withIoQueueEntries(p.optionalInt("io_queue_size", o.ioQueueEntries()))
                .withDelayDoorbell(p.optionalBool("delay_cmd_submit", o.delayDoorbell()))
                .withIoTimeoutMs(p.optionalLong("io_timeout_ms", o.ioTimeoutMs()));
        synchronized (controllers) {
            if (controllers.containsKey(name)) {
                throw new RpcException(-17, "nvme controller " + name + " already exists (File exists)");
            }
            for (NvmeBdevController c : controllers.values()) {
                if (c.traddr().equalsIgnoreCase(traddr)) {
                    throw new RpcException(-17, "PCI device " + traddr + " is already attached as " + c.name());
                }
            }
            NvmeBdevController c;
            try {
                c = NvmeBdevController.attach(name, traddr, dma, bdevs, o);
            } catch (RuntimeException e) {
                throw new RpcException(-19, "cannot attach nvme controller " + name + " at " + traddr + ": " + e.getMessage());
            }
            controllers.put(name, c);
            return c.bdevs().stream().map(NvmeBdev::name).toList();
        }
    }

    private Object detach(RpcParams p) throws RpcException {
        String name = p.requiredString("name");
        NvmeBdevController c;
        synchronized (controllers) {
            c = controllers.remove(name);
        }
        if (c == null) {
            throw new RpcException(-19, "no nvme controller named " + name + " (No such device)");
        }
        return c.detach().thenApply(v -> Boolean.TRUE);
    }

    private Object getControllers(RpcParams p) throws RpcException {
        String name = p.optionalString("name", null);
        List<Map<String, Object>> out = new ArrayList<>();
        synchronized (controllers) {
            for (NvmeBdevController c : controllers.values()) {
                if (name == null || name.equals(c.name())) {
                    out.add(c.describe());
                }
            }
        }
        if (name != null && out.isEmpty()) {
            throw new RpcException(-19, "no nvme controller named " + name + " (No such device)");
        }
        return out;
    }

    private Object resetController(RpcParams p) throws RpcException {
        String name = p.requiredString("name");
        NvmeBdevController c;
        synchronized (controllers) {
            c = controllers.get(name);
        }
        if (c == null || c.bdevs().isEmpty()) {
            throw new RpcException(-19, "no nvme controller named " + name + " (No such device)");
        }
        // a reset through the bdev layer drains the bdev's I/O first, then resets the controller
        String bdev = c.bdevs().getFirst().name();
        CompletableFuture<Object> done = new CompletableFuture<>();
        if (reactors == null) {
            throw new RpcException(-1, "no reactors to run the reset on");
        }
        boolean sent = reactors.reactor(0).submit(() -> {
            try {
                io.ustor.bdev.BdevDesc d = bdevs.open(bdev, false, (type, b) -> {
                });
                io.ustor.bdev.BdevChannel ch = d.getIoChannel();
                int rc = d.reset(ch, (bio, ok, arg) -> {
                    d.putIoChannel(ch);
                    d.close();
                    done.complete(ok);
                }, null);
                if (rc < 0) {
                    d.putIoChannel(ch);
                    d.close();
                    done.completeExceptionally(new RpcException(rc, "reset of " + name + " not started: errno " + -rc));
                }
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        if (!sent) {
            throw new RpcException(-1, "reactor 0 is busy");
        }
        return done;
    }

    @Override
    public List<ObjectNode> saveConfig() {
        List<ObjectNode> out = new ArrayList<>();
        synchronized (controllers) {
            for (NvmeBdevController c : controllers.values()) {
                ObjectNode call = MAPPER.createObjectNode();
                call.put("method", "bdev_nvme_attach_controller");
                ObjectNode params = call.putObject("params");
                params.put("name", c.name());
                params.put("trtype", "PCIe");
                params.put("traddr", c.traddr());
                out.add(call);
            }
        }
        return out;
    }

    @Override
    public String summary() {
        synchronized (controllers) {
            return controllers.size() + " nvme controller(s)";
        }
    }

    @Override
    public void shutdown() {
        List<NvmeBdevController> all;
        synchronized (controllers) {
            all = new ArrayList<>(controllers.values());
            controllers.clear();
        }
        for (NvmeBdevController c : all) {
            try {
                c.detach().get();
            } catch (Exception e) {
                System.getLogger(NvmeSubsystem.class.getName()).log(System.Logger.Level.WARNING,
                        "nvme {0}: detach at shutdown: {1}", c.name(), e.getMessage());
            }
        }
    }
}
