package io.ustor.daemon.settings;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.settings.SettingsSubsystem.When;
import io.ustor.env.IoBufferPoolOptions;
import io.ustor.rpc.RpcException;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The set-options methods of SPDK's bdev subsystem: {@code bdev_set_options} (its iobuf cache sizes applied to the
 * buffer pool's per-reactor caches; the bdev_io pool sizes kept: ustor pools bdev_io per channel),
 * {@code bdev_nvme_set_options}, {@code bdev_raid_set_options} and {@code bdev_iscsi_set_options} (checked and
 * kept), {@code bdev_nvme_set_hotplug} (hotplug monitoring is not implemented: enabling it is refused).
 */
public final class BdevSettings {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private BdevSettings() {
    }

    /**
     * The methods, in SPDK's order, held as a settings subsystem named "bdev" that the bdev subsystem registers and
     * saves (before its bdevs) as its own; never registered as a subsystem itself.
     */
    public static SettingsSubsystem create(Supplier<IoBufferPoolOptions> pool, Consumer<IoBufferPoolOptions> setPool) {
        OptionsMethod bdev = new OptionsMethod("bdev_set_options", List.of("bdev_io_pool_size u32",
                "bdev_io_cache_size u32", "bdev_auto_examine bool", "iobuf_small_cache_size u32",
                "iobuf_large_cache_size u32"), none(), merged -> {
                    IoBufferPoolOptions cur = pool.get();
                    int small = merged.path("iobuf_small_cache_size").asInt(cur.smallCacheSize());
                    int large = merged.path("iobuf_large_cache_size").asInt(cur.largeCacheSize());
                    if (!merged.path("bdev_auto_examine").asBoolean(true)) {
                        throw RpcException.invalidParams("bdev_auto_examine: ustor always examines new bdevs");
                    }
                    try {
                        setPool.accept(cur.withCacheSizes(small, large));
                    } catch (IllegalArgumentException e) {
                        throw RpcException.invalidParams("bdev options: " + e.getMessage());
                    } catch (IllegalStateException e) {
                        throw RpcException.internal(e.getMessage());
                    }
                });
        OptionsMethod raid = new OptionsMethod("bdev_raid_set_options", List.of("process_window_size_kb u32",
                "process_max_bandwidth_mb_sec u32"), none(), null);
        OptionsMethod iscsi = new OptionsMethod("bdev_iscsi_set_options", List.of("timeout_sec u64"), none(), null);
        OptionsMethod nvme = new OptionsMethod("bdev_nvme_set_options", List.of(
                "action_on_timeout enum:none|reset|abort", "timeout_us u64", "timeout_admin_us u64",
                "keep_alive_timeout_ms u32", "arbitration_burst u32", "low_priority_weight u32",
                "medium_priority_weight u32", "high_priority_weight u32", "nvme_adminq_poll_period_us u64",
                "nvme_ioq_poll_period_us u64", "io_queue_requests u32", "delay_cmd_submit bool",
                "transport_retry_count u32", "bdev_retry_count i32", "transport_ack_timeout u8",
                "ctrlr_loss_timeout_sec i32", "reconnect_delay_sec u32", "fast_io_fail_timeout_sec u32",
                "disable_auto_failback bool", "generate_uuids bool", "transport_tos u8", "nvme_error_stat bool",
                "rdma_srq_size u32", "io_path_stat bool", "allow_accel_sequence bool", "rdma_max_cq_size u32",
                "rdma_cm_event_timeout_ms u16", "dhchap_digests bitmask:sha256|sha384|sha512",
                "dhchap_dhgroups bitmask:null|ffdhe2048|ffdhe3072|ffdhe4096|ffdhe6144|ffdhe8192",
                "rdma_umr_per_io bool", "tcp_connect_timeout_ms u32", "enable_flush bool", "multipath_opts object"),
                none(), null);
        OptionsMethod hotplug = new OptionsMethod("bdev_nvme_set_hotplug", List.of("enable bool!", "period_us u64"),
                none(), merged -> {
                    if (merged.path("enable").asBoolean()) {
                        throw RpcException.invalidParams("enable: ustor does not monitor for new NVMe devices;"
                                + " attach each with bdev_nvme_attach_controller");
                    }
                });
        return new SettingsSubsystem("bdev")
                .with(bdev, When.STARTUP, false)
                .with(raid, When.STARTUP_AND_RUNTIME, false)
                .with(iscsi, When.STARTUP_AND_RUNTIME, false)
                .with(nvme, When.STARTUP_AND_RUNTIME, false)
                .with(hotplug, When.RUNTIME, false);
    }

    private static ObjectNode none() {
        return MAPPER.createObjectNode();
    }
}
