package io.ustor.daemon.bdev;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoStats;
import io.ustor.bdev.IoType;
import io.ustor.bdev.delay.DelayBdev;
import io.ustor.bdev.delay.DelayLatencies;
import io.ustor.bdev.error.ErrorBdev;
import io.ustor.bdev.error.ErrorType;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.bdev.nullbdev.NullBdev;
import io.ustor.bdev.split.SplitBase;
import io.ustor.bdev.split.SplitBdev;
import io.ustor.env.DmaMemory;
import io.ustor.env.Errno;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * The bdev methods, with SPDK's names and parameters: bdev_get_bdevs, bdev_get_iostat, bdev_wait_for_examine,
 * bdev_malloc_create/delete, bdev_null_create/delete, bdev_aio_create/delete, bdev_delay_create/delete/update_latency.
 * They run on the RPC worker; creating
 * a bdev allocates and registers it there (no reactor involved), deleting returns the registry's future, which
 * completes once every reactor has released its channel.
 */
final class BdevRpcMethods {
    private static final Set<String> MALLOC_PARAMS = Set.of("name", "block_size", "num_blocks", "uuid",
            "optimal_io_boundary", "md_size", "md_interleave", "dif_type", "dif_is_head_of_md", "physical_block_size",
            "dif_pi_format", "numa_id");
    private static final Set<String> NULL_PARAMS = Set.of("name", "block_size", "num_blocks", "uuid",
            "physical_block_size", "md_size", "dif_type", "dif_pi_format", "dif_is_head_of_md",
            "preferred_write_granularity", "preferred_write_alignment", "optimal_write_size",
            "preferred_unmap_granularity", "preferred_unmap_alignment");
    private static final Set<String> AIO_PARAMS = Set.of("name", "filename", "block_size", "readonly", "fallocate",
            "uuid", "nowait");
    private static final Set<String> DELAY_PARAMS = Set.of("base_bdev_name", "name", "avg_read_latency",
            "p99_read_latency", "avg_write_latency", "p99_write_latency", "uuid");
    private static final Set<String> DELAY_UPDATE_PARAMS = Set.of("delay_bdev_name", "latency_type", "latency_us");
    private static final Set<String> NAME_ONLY = Set.of("name");
    private static final Set<String> ERROR_INJECT_PARAMS = Set.of("name", "io_type", "error_type", "num",
            "queue_depth", "corrupt_offset", "corrupt_value", "nvme_sct", "nvme_sc");
    private static final Set<String> SPLIT_PARAMS = Set.of("base_bdev", "split_count", "split_size_mb");
    private static final Set<String> GET_BDEVS_PARAMS = Set.of("name", "timeout");
    private static final Set<String> IOSTAT_PARAMS = Set.of("name", "names", "per_channel", "reset_mode");
    private static final long WAIT_POLL_MS = 10;

    private final BdevRegistry bdevs;
    private final DmaMemory memory;

    BdevRpcMethods(BdevRegistry bdevs, DmaMemory memory) {
        this.bdevs = bdevs;
        this.memory = memory;
    }

    void register(RpcRegistry r) {
        r.register("bdev_get_bdevs", this::getBdevs);
        r.register("bdev_get_iostat", this::getIostat);
        r.register("bdev_wait_for_examine", this::waitForExamine);
        r.register("bdev_malloc_create", this::mallocCreate);
        r.register("bdev_malloc_delete", p -> delete(p, "malloc"));
        r.register("bdev_null_create", this::nullCreate);
        r.register("bdev_null_delete", p -> delete(p, "null"));
        r.register("bdev_aio_create", this::aioCreate);
        r.register("bdev_aio_delete", p -> delete(p, "aio"));
        r.register("bdev_delay_create", this::delayCreate);
        r.register("bdev_delay_delete", p -> delete(p, "delay"));
        r.register("bdev_delay_update_latency", this::delayUpdateLatency);
        r.register("bdev_split_create", this::splitCreate);
        r.register("bdev_split_delete", this::splitDelete);
        r.register("bdev_error_create", this::errorCreate);
        r.register("bdev_error_delete", p -> delete(p, "error"));
        r.register("bdev_error_inject_error", this::errorInject);
        r.register("bdev_error_resume_pending", p -> {
            p.allowOnly(NAME_ONLY);
            return errorBdev(p.requiredString("name")).resumePending().thenApply(v -> (Object) Boolean.TRUE);
        });
    }

    // ---- queries ----

    private Object getBdevs(RpcParams p) throws RpcException {
        p.allowOnly(GET_BDEVS_PARAMS);
        String name = p.optionalString("name", null);
        long timeoutMs = p.optionalLong("timeout", 0);
        if (timeoutMs < 0) {
            throw RpcException.invalidParams("parameter 'timeout' must be >= 0, not " + timeoutMs);
        }
        if (name == null) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Bdev b : bdevs.list()) {
                out.add(b.describe());
            }
            return out;
        }
        Bdev b = bdevs.lookup(name);
        if (b != null) {
            return List.of(b.describe());
        }
        if (timeoutMs == 0) {
            throw noSuchBdev(name);
        }
        // Wait for it to appear without holding the RPC worker.
        CompletableFuture<Object> result = new CompletableFuture<>();
        pollForBdev(name, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs), result);
        return result;
    }

    private void pollForBdev(String name, long deadline, CompletableFuture<Object> result) {
        CompletableFuture.runAsync(() -> {
            Bdev b = bdevs.lookup(name);
            if (b != null) {
                result.complete(List.of(b.describe()));
            } else if (System.nanoTime() - deadline >= 0) {
                result.completeExceptionally(noSuchBdev(name));
            } else {
                pollForBdev(name, deadline, result);
            }
        }, CompletableFuture.delayedExecutor(WAIT_POLL_MS, TimeUnit.MILLISECONDS));
    }

    private Object getIostat(RpcParams p) throws RpcException {
        p.allowOnly(IOSTAT_PARAMS);
        List<String> names = p.optionalStringList("names");
        String single = p.optionalString("name", null); // the parameter of SPDK releases before "names"
        if (single != null) {
            names = names == null ? new ArrayList<>() : new ArrayList<>(names);
            names.add(single);
        }
        boolean perChannel = p.optionalBool("per_channel", false);
        String resetMode = p.optionalString("reset_mode", "none");
        if (!resetMode.equals("none")) {
            if (!Set.of("all", "maxmin", "error").contains(resetMode)) {
                throw RpcException.invalidParams("parameter 'reset_mode' must be all, maxmin, error or none, not "
                        + resetMode);
            }
            throw new RpcException(-Errno.EOPNOTSUPP, "reset_mode " + resetMode
                    + ": resetting I/O statistics is not supported by ustor's bdev layer");
        }
        if (perChannel && (names == null || names.size() != 1)) {
            throw RpcException.errno(Errno.EINVAL, "per_channel needs exactly one bdev name");
        }
        List<Bdev> selected = new ArrayList<>();
        if (names == null) {
            selected.addAll(bdevs.list());
        } else {
            for (String n : names) {
                Bdev b = bdevs.lookup(n);
                if (b == null) {
                    throw noSuchBdev(n);
                }
                selected.add(b);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tick_rate", BdevRegistry.tickRate());
        out.put("ticks", System.nanoTime());
        if (perChannel) {
            Bdev b = selected.get(0);
            out.put("name", b.name());
            List<Map<String, Object>> channels = new ArrayList<>();
            for (Map.Entry<Integer, IoStats> e : b.channelStats().entrySet()) {
                Map<String, Object> ch = new LinkedHashMap<>();
                ch.put("thread_id", e.getKey() + 1); // SPDK thread ids start at 1
                ch.putAll(e.getValue().toSpdkMap());
                channels.add(ch);
            }
            out.put("channels", channels);
        } else {
            List<Map<String, Object>> list = new ArrayList<>();
            for (Bdev b : selected) {
                list.add(b.iostat());
            }
            out.put("bdevs", list);
        }
        return out;
    }

    /** No module examines bdevs yet (no partitions, no lvol stores), so every bdev is examined when registered. */
    private Object waitForExamine(RpcParams p) throws RpcException {
        p.requireNone("bdev_wait_for_examine");
        return Boolean.TRUE;
    }

    // ---- malloc ----

    private Object mallocCreate(RpcParams p) throws RpcException {
        p.allowOnly(MALLOC_PARAMS);
        int blockSize = p.requiredUint32("block_size");
        long numBlocks = p.requiredLong("num_blocks");
        UUID uuid = p.optionalUuid("uuid");
        int boundary = p.optionalUint32("optimal_io_boundary", 0);
        requireNoMetadata(p);
        int physical = checkPhysicalBlockSize(p, blockSize);
        String name = p.optionalString("name", null);
        if (name == null) {
            name = nextFreeName("Malloc");
        }
        checkFree(name, uuid);
        MallocBdev bdev;
        try {
            bdev = MallocBdev.create(new MallocBdev.Options(name, numBlocks, blockSize, uuid)
                    .withOptimalIoBoundaryBlocks(boundary).withMemory(memory).withPhysicalBlockSize(physical));
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        return registerOrFail(bdev);
    }

    // ---- null ----

    private Object nullCreate(RpcParams p) throws RpcException {
        p.allowOnly(NULL_PARAMS);
        String name = p.requiredString("name");
        int blockSize = p.requiredUint32("block_size");
        long numBlocks = p.requiredLong("num_blocks");
        UUID uuid = p.optionalUuid("uuid");
        requireNoMetadata(p);
        int physicalBlockSize = checkPhysicalBlockSize(p, blockSize);
        checkFree(name, uuid);
        NullBdev bdev;
        try {
            bdev = NullBdev.create(name, numBlocks, blockSize, uuid, physicalBlockSize);
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        return registerOrFail(bdev);
    }

    // ---- aio ----

    private Object aioCreate(RpcParams p) throws RpcException {
        p.allowOnly(AIO_PARAMS);
        String name = p.requiredString("name");
        String filename = p.requiredString("filename");
        int blockSize = p.optionalUint32("block_size", 0);
        boolean readonly = p.optionalBool("readonly", false);
        boolean fallocate = p.optionalBool("fallocate", false);
        boolean nowait = p.optionalBool("nowait", false);
        UUID uuid = p.optionalUuid("uuid");
        checkFree(name, uuid);
        Bdev bdev = AioBdevs.create(name, filename, blockSize, readonly, fallocate, nowait, uuid);
        return registerOrFail(bdev);
    }

    // ---- delay ----

    private Object delayCreate(RpcParams p) throws RpcException {
        p.allowOnly(DELAY_PARAMS);
        String base = p.requiredString("base_bdev_name");
        String name = p.requiredString("name");
        DelayLatencies latencies = latencies(() -> new DelayLatencies(p.requiredLong("avg_read_latency"),
                p.requiredLong("p99_read_latency"), p.requiredLong("avg_write_latency"),
                p.requiredLong("p99_write_latency")));
        UUID uuid = p.optionalUuid("uuid");
        checkFree(name, uuid);
        DelayBdev bdev;
        try {
            bdev = DelayBdev.create(bdevs, name, base, latencies, uuid);
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        try {
            bdevs.register(bdev);
        } catch (BdevException e) {
            bdev.releaseBase();
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        return bdev.name();
    }

    private Object delayUpdateLatency(RpcParams p) throws RpcException {
        p.allowOnly(DELAY_UPDATE_PARAMS);
        String name = p.requiredString("delay_bdev_name");
        String type = p.requiredString("latency_type");
        long us = p.requiredLong("latency_us");
        if (!(bdevs.lookup(name) instanceof DelayBdev delay)) {
            throw RpcException.errno(Errno.ENODEV, "delay bdev " + name + " not found");
        }
        delay.updateLatencies(latencies(() -> delay.latencies().with(type, us)));
        return Boolean.TRUE;
    }

    private interface LatencySource {
        DelayLatencies get() throws RpcException;
    }

    private static DelayLatencies latencies(LatencySource s) throws RpcException {
        try {
            return s.get();
        } catch (BdevException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
    }

    // ---- split ----

    /** SPDK's bdev_split_create: the names of the parts made. */
    private Object splitCreate(RpcParams p) throws RpcException {
        p.allowOnly(SPLIT_PARAMS);
        String base = p.requiredString("base_bdev");
        int count = p.requiredUint32("split_count");
        long sizeMb = p.optionalLong("split_size_mb", 0);
        if (count <= 0 || sizeMb < 0) {
            throw RpcException.invalidParams("split_count must be at least 1 and split_size_mb >= 0");
        }
        try {
            return SplitBase.create(bdevs, base, count, sizeMb).parts().stream().map(Bdev::name).toList();
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
    }

    /** SPDK's bdev_split_delete: every part of {@code base_bdev} goes, and the base is released. */
    private Object splitDelete(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("base_bdev"));
        String base = p.requiredString("base_bdev");
        for (Bdev b : bdevs.list()) {
            if (b instanceof SplitBdev part && part.split().base().name().equals(base)) {
                return part.split().delete().thenApply(v -> (Object) Boolean.TRUE);
            }
        }
        throw RpcException.errno(Errno.ENODEV, "bdev " + base + " is not split");
    }

    // ---- error injection ----

    /** SPDK's bdev_error_create: EE_{base_name} over base_name; the new bdev's name. */
    private Object errorCreate(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("base_name", "uuid"));
        String base = p.requiredString("base_name");
        UUID uuid = p.optionalUuid("uuid");
        checkFree(ErrorBdev.PREFIX + base, uuid);
        ErrorBdev bdev;
        try {
            bdev = ErrorBdev.create(bdevs, base, uuid);
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        try {
            return registerOrFail(bdev);
        } catch (RpcException e) {
            bdev.releaseBase();
            throw e;
        }
    }

    /** SPDK's bdev_error_inject_error: arms (or with io_type "clear", disarms) errors on an EE_ bdev. */
    private Object errorInject(RpcParams p) throws RpcException {
        p.allowOnly(ERROR_INJECT_PARAMS);
        String name = p.requiredString("name");
        String ioType = p.requiredString("io_type");
        String errorType = p.requiredString("error_type");
        long num = p.optionalLong("num", 1);
        long depth = p.optionalLong("queue_depth", 0);
        long corruptOffset = p.optionalLong("corrupt_offset", 0);
        int corruptValue = p.optionalUint32("corrupt_value", 0);
        ErrorBdev ee = errorBdev(name);
        IoType type = switch (ioType) {
            case "read" -> IoType.READ;
            case "write" -> IoType.WRITE;
            case "unmap" -> IoType.UNMAP;
            case "flush" -> IoType.FLUSH;
            case "all", "clear" -> null;
            default -> throw RpcException.invalidParams("io_type must be read, write, unmap, flush, all or clear, not "
                    + ioType);
        };
        ErrorType kind = ErrorType.of(errorType);
        if (kind == null) {
            throw RpcException.invalidParams(errorType.equals("nvme_failure")
                    ? "error_type nvme_failure: ustor's bdev I/O carries no NVMe status; use failure"
                    : "error_type must be failure, pending, corrupt_data or nomem, not " + errorType);
        }
        if (num < 0 || depth < 0 || corruptOffset < 0 || corruptValue > 255) {
            throw RpcException.invalidParams("num, queue_depth and corrupt_offset must be >= 0, corrupt_value 1-255");
        }
        if (ioType.equals("clear")) {
            ee.clear();
            return Boolean.TRUE;
        }
        try {
            ee.inject(type, kind, num, depth, corruptOffset, corruptValue);
        } catch (BdevException e) {
            throw RpcException.invalidParams(e.getMessage());
        }
        return Boolean.TRUE;
    }

    private ErrorBdev errorBdev(String name) throws RpcException {
        if (!(bdevs.lookup(name) instanceof ErrorBdev ee)) {
            throw RpcException.errno(Errno.ENODEV, "bdev " + name + " is not an error injection bdev");
        }
        return ee;
    }

    // ---- shared ----

    /** SPDK's bdev_X_delete: the bool true once the bdev is gone; ENODEV if it is not one of this module's. */
    private Object delete(RpcParams p, String module) throws RpcException {
        p.allowOnly(NAME_ONLY);
        String name = p.requiredString("name");
        Bdev b = bdevs.lookup(name);
        if (b == null) {
            throw noSuchBdev(name);
        }
        if (!b.moduleName().equals(module)) {
            throw RpcException.errno(Errno.ENODEV, "bdev " + name + " is a " + b.moduleName() + " bdev, not " + module);
        }
        return bdevs.unregister(b.name()).handle((v, t) -> {
            if (t != null) {
                Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                throw new CompletionException(c instanceof BdevException be
                        ? RpcException.errno(be.errno(), be.getMessage()) : c);
            }
            return Boolean.TRUE;
        });
    }

    private String registerOrFail(Bdev bdev) throws RpcException {
        try {
            bdevs.register(bdev);
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
        return bdev.name();
    }

    /** Checked before allocating, so a clash does not leave memory behind. Calls are serial on the RPC worker. */
    private void checkFree(String name, UUID uuid) throws RpcException {
        if (bdevs.lookup(name) != null) {
            throw RpcException.errno(Errno.EEXIST, "bdev " + name + " already exists");
        }
        if (uuid != null && bdevs.lookup(uuid.toString()) != null) {
            throw RpcException.errno(Errno.EEXIST, "UUID " + uuid + " already belongs to bdev "
                    + bdevs.lookup(uuid.toString()).name());
        }
    }

    private String nextFreeName(String prefix) {
        for (int i = 0; ; i++) {
            String n = prefix + i;
            if (bdevs.lookup(n) == null) {
                return n;
            }
        }
    }

    /** Metadata and protection information are not supported: accept only their "off" values. */
    private static void requireNoMetadata(RpcParams p) throws RpcException {
        if (p.optionalLong("md_size", 0) != 0) {
            throw RpcException.invalidParams("parameter 'md_size': separate or interleaved metadata is not supported");
        }
        if (p.optionalLong("dif_type", 0) != 0) {
            throw RpcException.invalidParams("parameter 'dif_type': protection information is not supported");
        }
        if (p.optionalLong("dif_pi_format", 0) != 0) {
            throw RpcException.invalidParams("parameter 'dif_pi_format': protection information is not supported");
        }
        p.optionalBool("md_interleave", false);
        p.optionalBool("dif_is_head_of_md", false);
        p.optionalInt("numa_id", -1);
        p.optionalUint32("preferred_write_granularity", 0);
        p.optionalUint32("preferred_write_alignment", 0);
        p.optionalUint32("optimal_write_size", 0);
        p.optionalUint32("preferred_unmap_granularity", 0);
        p.optionalUint32("preferred_unmap_alignment", 0);
    }

    /**
     * SPDK: a power of two of at least 512, and a multiple of the block size; 0 when not given. The malloc and null
     * bdevs report it (SCSI's logical blocks per physical block).
     */
    private static int checkPhysicalBlockSize(RpcParams p, int blockSize) throws RpcException {
        int pbs = p.optionalUint32("physical_block_size", 0);
        if (pbs != 0 && (Integer.bitCount(pbs) != 1 || pbs < 512)) {
            throw RpcException.invalidParams("parameter 'physical_block_size' must be a power of 2 of at least 512, not "
                    + pbs);
        }
        if (pbs != 0 && blockSize > 0 && pbs % blockSize != 0) {
            throw RpcException.invalidParams("parameter 'physical_block_size' " + pbs
                    + " must be a multiple of block_size " + blockSize);
        }
        return pbs;
    }

    private static RpcException noSuchBdev(String name) {
        return RpcException.errno(Errno.ENODEV, "bdev " + name + " not found");
    }
}
