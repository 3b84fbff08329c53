package io.ustor.daemon.cli;

import io.ustor.daemon.cli.CliArgs.Type;
import io.ustor.daemon.cli.CliMethod.Output;

import java.util.Map;

/**
 * ustor-rpc's forms of SPDK's settings methods as rpc.py has them (python/spdk/cli/iobuf.py, sock.py, accel.py,
 * log.py and the set-options commands of bdev.py and bdev_nvme.py). Like rpc.py, the setters print nothing except
 * sock_set_default_impl.
 */
final class SettingsCliMethods {
    private SettingsCliMethods() {
    }

    static void addTo(Map<String, CliMethod> m) {
        add(m, "iobuf_set_options", "Set iobuf pool options", new CliArgs()
                .option(null, "--small-pool-count", "small_pool_count", Type.INT,
                        "Number of small buffers in the global pool. Default: 8192")
                .option(null, "--large-pool-count", "large_pool_count", Type.INT,
                        "Number of large buffers in the global pool. Default: 1024")
                .option(null, "--small-bufsize", "small_bufsize", Type.INT, "Size of a small buffer in bytes")
                .option(null, "--large-bufsize", "large_bufsize", Type.INT, "Size of a large buffer in bytes")
                .option(null, "--enable-numa", "enable_numa", Type.FLAG, "per-NUMA pools (refused by ustor)"),
                Output.NONE);
        add(m, "iobuf_get_stats", "Display iobuf statistics", new CliArgs(), Output.DICT);
        add(m, "log_set_flag", "set log flag", new CliArgs().positional("flag", Type.STRING,
                "log flag (a component: env, reactor, bdev, nvme, rpc, iscsi, scsi, vhost, daemon, perf) or all"),
                Output.NONE);
        add(m, "log_clear_flag", "clear log flag", new CliArgs().positional("flag", Type.STRING,
                "log flag or all"), Output.NONE);
        add(m, "log_get_flags", "get log flags", new CliArgs(), Output.DICT);
        for (String kind : new String[]{"", "print_"}) {
            add(m, "log_set_" + kind + "level", "set log " + kind.replace('_', ' ') + "level", new CliArgs()
                    .positional("level", Type.STRING, "ERROR, WARNING, NOTICE, INFO or DEBUG"), Output.NONE);
            add(m, "log_get_" + kind + "level", "get log " + kind.replace('_', ' ') + "level", new CliArgs(),
                    Output.DICT);
        }
        add(m, "accel_set_options", "Set accel framework's options", new CliArgs()
                .option(null, "--small-cache-size", "small_cache_size", Type.INT, "Size of the small iobuf cache")
                .option(null, "--large-cache-size", "large_cache_size", Type.INT, "Size of the large iobuf cache")
                .option(null, "--task-count", "task_count", Type.INT, "Maximum number of tasks per IO channel")
                .option(null, "--sequence-count", "sequence_count", Type.INT,
                        "Maximum number of sequences per IO channel")
                .option(null, "--buf-count", "buf_count", Type.INT, "Maximum number of accel buffers per IO channel"),
                Output.NONE);
        add(m, "sock_set_default_impl", "Set the default sock implementation", impl(), Output.JSON);
        add(m, "sock_impl_get_options", "Get options of socket layer implementation", impl(), Output.JSON);
        add(m, "sock_impl_set_options", "Set options of socket layer implementation", impl()
                .option("-r", "--recv-buf-size", "recv_buf_size", Type.INT, "Receive buffer size in bytes")
                .option("-s", "--send-buf-size", "send_buf_size", Type.INT, "Send buffer size in bytes")
                .option("-p", "--enable-placement-id", "enable_placement_id", Type.INT,
                        "Placement ID source: 0=disable, 1=incoming_napi, 2=incoming_cpu")
                .option(null, "--recv-pipe", "enable_recv_pipe", Type.SWITCH, "Enable or disable receive pipe")
                .option(null, "--quickack", "enable_quickack", Type.SWITCH, "Enable or disable quick ACK")
                .option(null, "--zerocopy-send-server", "enable_zerocopy_send_server", Type.SWITCH,
                        "Enable zero-copy on send for server sockets")
                .option(null, "--zerocopy-send-client", "enable_zerocopy_send_client", Type.SWITCH,
                        "Enable zero-copy on send for client sockets")
                .option(null, "--zerocopy-threshold", "zerocopy_threshold", Type.INT,
                        "Send size threshold in bytes below which the zerocopy flag is omitted")
                .option(null, "--tls-version", "tls_version", Type.INT, "TLS protocol version (ssl only)")
                .option(null, "--ktls", "enable_ktls", Type.SWITCH, "Enable Kernel TLS (ssl only)"), Output.NONE);
        add(m, "bdev_set_options", "Set options of bdev subsystem", new CliArgs()
                .option("-p", "--bdev-io-pool-size", "bdev_io_pool_size", Type.INT,
                        "Number of bdev_io structures in shared buffer pool")
                .option("-c", "--bdev-io-cache-size", "bdev_io_cache_size", Type.INT,
                        "Maximum number of bdev_io structures cached per thread")
                .option(null, "--auto-examine", "bdev_auto_examine", Type.SWITCH, "Examine new bdevs automatically")
                .option(null, "--iobuf-small-cache-size", "iobuf_small_cache_size", Type.INT,
                        "Size of the small iobuf per thread cache")
                .option(null, "--iobuf-large-cache-size", "iobuf_large_cache_size", Type.INT,
                        "Size of the large iobuf per thread cache"), Output.NONE);
        add(m, "bdev_nvme_set_hotplug", "Set hotplug options for bdev nvme type.", new CliArgs()
                .requiredOption(null, "--hotplug", "enable", Type.SWITCH, "Enable or disable hotplug")
                .option("-r", "--period-us", "period_us", Type.INT, "How often the hotplug is processed"),
                Output.NONE);
    }

    private static CliArgs impl() {
        return new CliArgs().requiredOption("-i", "--impl", "impl_name", Type.STRING,
                "Socket implementation name (e.g. \"posix\", \"ssl\")");
    }

    private static void add(Map<String, CliMethod> m, String name, String help, CliArgs args, Output out) {
        m.put(name, new CliMethod(name, help, args, CliMethods::copy, out));
    }
}
