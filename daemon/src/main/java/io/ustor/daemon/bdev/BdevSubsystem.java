package io.ustor.daemon.bdev;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.delay.DelayBdev;
import io.ustor.bdev.delay.DelayLatencies;
import io.ustor.bdev.error.ErrorBdev;
import io.ustor.bdev.split.SplitBdev;
import io.ustor.daemon.UstorRuntime;
import io.ustor.daemon.settings.BdevSettings;
import io.ustor.daemon.settings.SettingsSubsystem;
import io.ustor.env.DmaMemory;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * SPDK's "bdev" subsystem: the bdev RPC methods and the config entries that recreate every bdev. The daemon
 * registers it before any front end (they depend on it).
 */
public final class BdevSubsystem implements Subsystem {
    private static final System.Logger LOG = System.getLogger(BdevSubsystem.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private BdevRegistry bdevs;
    private SettingsSubsystem settings;

    @Override
    public String name() {
        return "bdev";
    }

    @Override
    public void registerMethods(RpcRegistry registry, SubsystemContext ctx) {
        this.bdevs = ctx.get(BdevRegistry.class);
        new BdevRpcMethods(bdevs, ctx.get(DmaMemory.class)).register(registry);
        UstorRuntime rt = ctx.get(UstorRuntime.class);
        settings = BdevSettings.create(rt::bufferOptions, rt::setBufferOptions);
        settings.registerMethods(registry, ctx);
    }

    @Override
    public List<ObjectNode> saveConfig() {
        List<ObjectNode> out = new ArrayList<>(settings.saveConfig());
        for (Bdev b : bdevs.list()) {
            ObjectNode call = createCall(b);
            if (call != null) {
                out.add(call);
            } else {
                LOG.log(System.Logger.Level.DEBUG, "bdev {0}: module {1} has no create call in the bdev subsystem",
                        b.name(), b.moduleName());
            }
        }
        // As SPDK does: whoever loads this config waits until the new bdevs have been examined.
        ObjectNode wait = MAPPER.createObjectNode();
        wait.put("method", "bdev_wait_for_examine");
        out.add(wait);
        return out;
    }

    /** The call that recreates {@code b}, or null for modules whose bdevs are made elsewhere. */
    static ObjectNode createCall(Bdev b) {
        ObjectNode call = MAPPER.createObjectNode();
        ObjectNode p;
        switch (b.moduleName()) {
            case "malloc" -> {
                call.put("method", "bdev_malloc_create");
                p = call.putObject("params");
                p.put("name", b.name());
                p.put("num_blocks", b.numBlocks());
                p.put("block_size", b.blockSize());
                p.put("uuid", b.uuid().toString());
                if (b.optimalIoBoundaryBlocks() > 0) {
                    p.put("optimal_io_boundary", b.optimalIoBoundaryBlocks());
                }
                if (b.physicalBlockSize() != b.blockSize()) {
                    p.put("physical_block_size", b.physicalBlockSize());
                }
            }
            case "null" -> {
                call.put("method", "bdev_null_create");
                p = call.putObject("params");
                p.put("name", b.name());
                p.put("num_blocks", b.numBlocks());
                p.put("block_size", b.blockSize());
                p.put("uuid", b.uuid().toString());
                if (b.physicalBlockSize() != b.blockSize()) {
                    p.put("physical_block_size", b.physicalBlockSize());
                }
            }
            case "aio" -> {
                Map<String, Object> aio = AioBdevs.config(b);
                if (aio == null) {
                    return null;
                }
                call.put("method", "bdev_aio_create");
                p = call.putObject("params");
                p.put("name", b.name());
                p.setAll(MAPPER.<ObjectNode>valueToTree(aio));
                p.put("uuid", b.uuid().toString());
            }
            case "delay" -> {
                if (!(b instanceof DelayBdev delay)) {
                    return null;
                }
                DelayLatencies l = delay.latencies();
                call.put("method", "bdev_delay_create");
                p = call.putObject("params");
                p.put("base_bdev_name", delay.base().name());
                p.put("name", b.name());
                p.put("avg_read_latency", l.avgReadUs());
                p.put("p99_read_latency", l.p99ReadUs());
                p.put("avg_write_latency", l.avgWriteUs());
                p.put("p99_write_latency", l.p99WriteUs());
                p.put("uuid", b.uuid().toString());
            }
            case "error" -> {
                if (!(b instanceof ErrorBdev ee)) {
                    return null;
                }
                call.put("method", "bdev_error_create");
                p = call.putObject("params");
                p.put("base_name", ee.base().name());
                p.put("uuid", b.uuid().toString());
            }
            case "split" -> {
                // One call for all the parts, where the first one is (right after its base).
                if (!(b instanceof SplitBdev part) || part.offsetBlocks() != 0) {
                    return null;
                }
                call.put("method", "bdev_split_create");
                p = call.putObject("params");
                p.put("base_bdev", part.split().base().name());
                p.put("split_count", part.split().splitCount());
                p.put("split_size_mb", part.split().splitSizeMb());
            }
            default -> {
                return null;
            }
        }
        return call;
    }

    @Override
    public String summary() {
        List<Bdev> all = bdevs.list();
        if (all.isEmpty()) {
            return "no bdevs";
        }
        StringBuilder sb = new StringBuilder();
        for (Bdev b : all) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append(b.name()).append(" (").append(b.moduleName()).append(", ")
                    .append(size(b.numBlocks() * b.blockSize())).append(", ").append(b.blockSize()).append(" B blocks)");
        }
        return sb.toString();
    }

    private static String size(long bytes) {
        if (bytes >= (1L << 30) && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        if (bytes >= (1L << 20)) {
            return (bytes >> 20) + " MiB";
        }
        return (bytes >> 10) + " KiB";
    }
}
