package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.cli.CliArgs.Type;
import io.ustor.daemon.cli.CliMethod.Output;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The commands ustor-rpc knows, with rpc.py's argument forms for the methods ustor implements. */
final class CliMethods {
    private CliMethods() {
    }

    static Map<String, CliMethod> all() {
        Map<String, CliMethod> m = new LinkedHashMap<>();
        add(m, "rpc_get_methods", "Get list of supported RPC methods", new CliArgs()
                        .option("-c", "--current", "current", Type.FLAG, "only methods callable in the current state")
                        .option("-i", "--include-aliases", "include_aliases", Type.FLAG, "include deprecated aliases"),
                CliMethods::copy, Output.DICT);
        add(m, "spdk_get_version", "Get the version (ustor reports itself in SPDK's fields)", new CliArgs(),
                CliMethods::copy, Output.JSON);
        add(m, "framework_start_init", "Start initialization of subsystems (after --wait-for-rpc)", new CliArgs(),
                CliMethods::copy, Output.NONE);
        add(m, "framework_wait_init", "Block until subsystems have been initialized", new CliArgs(),
                CliMethods::copy, Output.NONE);
        add(m, "framework_get_reactors", "Display list of all reactors", new CliArgs(), CliMethods::copy, Output.DICT);
        add(m, "framework_get_subsystems", "Print subsystems and their dependencies", new CliArgs(),
                CliMethods::copy, Output.DICT);
        add(m, "framework_get_config", "Print the configuration of one subsystem", new CliArgs()
                        .positional("name", Type.STRING, "name of the subsystem, e.g. bdev"),
                CliMethods::copy, Output.DICT);
        add(m, "thread_get_stats", "Display current statistics of all the threads", new CliArgs(),
                CliMethods::copy, Output.DICT);
        add(m, "spdk_kill_instance", "Send a signal to the daemon", new CliArgs()
                        .positional("sig_name", Type.STRING, "SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGKILL or SIGUSR1"),
                CliMethods::copy, Output.NONE);
        add(m, "bdev_get_bdevs", "Display current blockdev list or required blockdev", new CliArgs()
                        .option("-b", "--name", "name", Type.STRING, "name of the blockdev, e.g. Malloc0")
                        .option("-t", "--timeout-ms", "timeout", Type.INT,
                                "time in ms to wait for the bdev to appear (with -b); default 0"),
                CliMethods::copy, Output.DICT);
        add(m, "bdev_get_iostat", "Display current I/O statistics of all the blockdevs or the given ones",
                new CliArgs()
                        .option("-b", "--name", "name", Type.STRING, "name of one blockdev")
                        .option(null, "--names", "names", Type.CSV, "comma-separated blockdev names")
                        .option("-c", "--per-channel", "per_channel", Type.FLAG, "per channel stats of one blockdev")
                        .option(null, "--reset-mode", "reset_mode", Type.STRING, "all, maxmin, error or none"),
                (v, p) -> {
                    copy(v, p);
                    if (p.has("name")) { // rpc.py's older -b: fold into "names"
                        ArrayNode names = p.has("names") ? (ArrayNode) p.get("names") : p.putArray("names");
                        names.add(p.remove("name").asText());
                    }
                    return p;
                }, Output.DICT);
        add(m, "bdev_wait_for_examine", "Report when all bdevs have been examined", new CliArgs(),
                CliMethods::copy, Output.NONE);
        add(m, "bdev_split_create", "Split a base bdev into equal parts, each a bdev", new CliArgs()
                        .positional("base_bdev", Type.STRING, "base bdev name")
                        .option("-s", "--split-size-mb", "split_size_mb", Type.INT, "size in MiB for each bdev")
                        .positional("split_count", Type.INT, "number of split bdevs to create"),
                CliMethods::copy, Output.ARRAY);
        add(m, "bdev_split_delete", "Delete the split bdevs of a base bdev", new CliArgs()
                .positional("base_bdev", Type.STRING, "base bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_error_create", "Add bdev with error injection backend", new CliArgs()
                        .positional("base_name", Type.STRING, "base bdev name")
                        .option(null, "--uuid", "uuid", Type.STRING, "UUID for this bdev"),
                CliMethods::copy, Output.JSON);
        add(m, "bdev_error_delete", "Delete an error bdev", new CliArgs()
                .positional("name", Type.STRING, "error bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_error_inject_error", "bdev inject error", new CliArgs()
                        .positional("name", Type.STRING, "the name of the error injection bdev")
                        .positional("io_type", Type.STRING, "IO type: clear, read, write, unmap, flush, all")
                        .positional("error_type", Type.STRING, "Error type: failure, pending, corrupt_data, nomem")
                        .option(null, "--nvme-sct", "nvme_sct", Type.INT, "NVMe SCT for nvme_failure (not in ustor)")
                        .option(null, "--nvme-sc", "nvme_sc", Type.INT, "NVMe SC for nvme_failure (not in ustor)")
                        .option("-n", "--num", "num", Type.INT, "the number of commands you want to fail")
                        .option("-q", "--queue-depth", "queue_depth", Type.INT,
                                "the queue depth at which to trigger the error")
                        .option("-o", "--corrupt-offset", "corrupt_offset", Type.INT,
                                "the offset in bytes to xor with corrupt_value")
                        .option("-v", "--corrupt-value", "corrupt_value", Type.INT,
                                "the value for xor (1-255, 0 is invalid)"),
                CliMethods::copy, Output.NONE);
        add(m, "bdev_error_resume_pending", "Resume the I/O a pending error holds", new CliArgs()
                .positional("name", Type.STRING, "error bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_malloc_create", "Create a bdev with malloc backend", new CliArgs()
                        .option("-b", "--name", "name", Type.STRING, "name of the bdev")
                        .option("-u", "--uuid", "uuid", Type.STRING, "UUID of the bdev (optional)")
                        .positional("total_size", Type.FLOAT, "size of malloc bdev in MB (float > 0)")
                        .positional("block_size", Type.INT, "data block size for this bdev")
                        .option("-p", "--physical-block-size", "physical_block_size", Type.INT, "physical block size")
                        .option("-o", "--optimal-io-boundary", "optimal_io_boundary", Type.INT,
                                "split on optimal IO boundary, in blocks; default 0 (disabled)")
                        .option("-m", "--md-size", "md_size", Type.INT, "metadata size (only 0 is supported)")
                        .option("-i", "--md-interleave", "md_interleave", Type.FLAG, "interleaved metadata")
                        .option("-t", "--dif-type", "dif_type", Type.INT, "protection information type (only 0)")
                        .option("-d", "--dif-is-head-of-md", "dif_is_head_of_md", Type.FLAG, "PI at head of metadata")
                        .option("-f", "--dif-pi-format", "dif_pi_format", Type.INT, "PI format (only 0)")
                        .option("-n", "--numa-id", "numa_id", Type.INT, "NUMA node of the memory"),
                (v, p) -> sized(v, p, false), Output.JSON);
        add(m, "bdev_malloc_delete", "Delete a malloc disk", new CliArgs()
                .positional("name", Type.STRING, "malloc bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_null_create", "Add a bdev with null backend", new CliArgs()
                        .positional("name", Type.STRING, "block device name")
                        .option("-u", "--uuid", "uuid", Type.STRING, "UUID of the bdev (optional)")
                        .positional("total_size", Type.INT, "size of null bdev in MB (int > 0)")
                        .positional("block_size", Type.INT, "data block size for this bdev")
                        .option("-p", "--physical-block-size", "physical_block_size", Type.INT, "physical block size")
                        .option("-m", "--md-size", "md_size", Type.INT, "metadata size (only 0 is supported)")
                        .option("-t", "--dif-type", "dif_type", Type.INT, "protection information type (only 0)")
                        .option("-d", "--dif-is-head-of-md", "dif_is_head_of_md", Type.FLAG, "PI at head of metadata")
                        .option("-f", "--dif-pi-format", "dif_pi_format", Type.INT, "PI format (only 0)")
                        .option("-a", "--preferred-write-alignment", "preferred_write_alignment", Type.INT, "in blocks")
                        .option("-g", "--preferred-write-granularity", "preferred_write_granularity", Type.INT,
                                "in blocks")
                        .option("-s", "--optimal-write-size", "optimal_write_size", Type.INT, "in blocks")
                        .option("-c", "--preferred-unmap-alignment", "preferred_unmap_alignment", Type.INT, "in blocks")
                        .option("-r", "--preferred-unmap-granularity", "preferred_unmap_granularity", Type.INT,
                                "in blocks"),
                (v, p) -> sized(v, p, true), Output.JSON);
        add(m, "bdev_null_delete", "Delete a null bdev", new CliArgs()
                .positional("name", Type.STRING, "null bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_aio_create", "Add a bdev with aio backend", new CliArgs()
                        .positional("filename", Type.STRING, "path to device or file (ex: /dev/sda)")
                        .positional("name", Type.STRING, "block device name")
                        .optionalPositional("block_size", Type.INT, "block size for this bdev")
                        .option("-r", "--readonly", "readonly", Type.FLAG, "set this bdev as read-only")
                        .option(null, "--fallocate", "fallocate", Type.FLAG, "support unmap/write zeroes by fallocate")
                        .option("-u", "--uuid", "uuid", Type.STRING, "UUID of the bdev (optional)")
                        .option(null, "--no-wait", "nowait", Type.FLAG, "RWF_NOWAIT for block devices"),
                CliMethods::copy, Output.JSON);
        add(m, "bdev_aio_delete", "Delete an aio disk", new CliArgs()
                .positional("name", Type.STRING, "aio bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_delay_create", "Add a delay bdev on existing bdev", new CliArgs()
                        .requiredOption("-b", "--base-bdev-name", "base_bdev_name", Type.STRING,
                                "Name of the existing bdev")
                        .requiredOption("-d", "--name", "name", Type.STRING, "Name of the delay bdev")
                        .requiredOption("-r", "--avg-read-latency", "avg_read_latency", Type.INT,
                                "Average latency to apply before completing read ops (in microseconds)")
                        .requiredOption("-t", "--nine-nine-read-latency", "p99_read_latency", Type.INT,
                                "latency to apply to 1 in 100 read ops (in microseconds)")
                        .requiredOption("-w", "--avg-write-latency", "avg_write_latency", Type.INT,
                                "Average latency to apply before completing write ops (in microseconds)")
                        .requiredOption("-n", "--nine-nine-write-latency", "p99_write_latency", Type.INT,
                                "latency to apply to 1 in 100 write ops (in microseconds)")
                        .option("-u", "--uuid", "uuid", Type.STRING, "UUID of the bdev (optional)"),
                CliMethods::copy, Output.JSON);
        add(m, "bdev_delay_delete", "Delete a delay bdev", new CliArgs()
                .positional("name", Type.STRING, "delay bdev name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_delay_update_latency", "Update one of the latency values for a given delay bdev", new CliArgs()
                        .positional("delay_bdev_name", Type.STRING, "The name of the given delay bdev")
                        .positional("latency_type", Type.STRING,
                                "one of: avg_read, avg_write, p99_read, p99_write. No other values accepted.")
                        .positional("latency_us", Type.INT, "new latency value (in microseconds)"),
                CliMethods::copy, Output.NONE);
        addNvme(m);
        IscsiCliMethods.addTo(m);
        VhostCliMethods.addTo(m);
        SettingsCliMethods.addTo(m);
        return m;
    }

    /** The nvme bdev module's methods (PCIe controllers only: the fabrics options of rpc.py are not offered). */
    private static void addNvme(Map<String, CliMethod> m) {
        add(m, "bdev_nvme_attach_controller", "Add bdevs with nvme backend", new CliArgs()
                        .requiredOption("-b", "--name", "name", Type.STRING,
                                "name of the NVMe controller, prefix for each bdev name")
                        .requiredOption("-t", "--trtype", "trtype", Type.STRING, "NVMe-oF target trtype: e.g., PCIe")
                        .requiredOption("-a", "--traddr", "traddr", Type.STRING,
                                "NVMe-oF target address: e.g., a PCI BDF 0000:00:04.0")
                        .option("-f", "--adrfam", "adrfam", Type.STRING, "address family (fabrics only)"),
                CliMethods::copy, Output.ARRAY);
        add(m, "bdev_nvme_detach_controller", "Detach an NVMe controller and delete any associated bdevs",
                new CliArgs().positional("name", Type.STRING, "controller name"), CliMethods::copy, Output.NONE);
        add(m, "bdev_nvme_get_controllers", "Display current NVMe controllers list or required NVMe controller",
                new CliArgs().option("-n", "--name", "name", Type.STRING, "name of the NVMe controller"),
                CliMethods::copy, Output.DICT);
        add(m, "bdev_nvme_reset_controller", "Reset an NVMe controller", new CliArgs()
                .positional("name", Type.STRING, "NVMe controller name"), CliMethods::copy, Output.NONE);
    }

    private static void add(Map<String, CliMethod> m, String name, String help, CliArgs args,
                            CliMethod.ParamBuilder b, Output out) {
        m.put(name, new CliMethod(name, help, args, b, out));
    }

    /** rpc.py's remove_null: every given value under its dest name. */
    static ObjectNode copy(Map<String, Object> v, ObjectNode p) {
        for (Map.Entry<String, Object> e : v.entrySet()) {
            Object o = e.getValue();
            if (o instanceof String s) {
                p.put(e.getKey(), s);
            } else if (o instanceof Long l) {
                p.put(e.getKey(), l);
            } else if (o instanceof Double d) {
                p.put(e.getKey(), d);
            } else if (o instanceof Boolean b) {
                p.put(e.getKey(), b);
            } else if (o instanceof List<?> list) {
                ArrayNode a = p.putArray(e.getKey());
                list.forEach(x -> a.add(String.valueOf(x)));
            }
        }
        return p;
    }

    /** rpc.py: num_blocks = total_size (MiB) * 1024 * 1024 // block_size. */
    private static ObjectNode sized(Map<String, Object> v, ObjectNode p, boolean integerSize) throws UsageException {
        Map<String, Object> rest = new LinkedHashMap<>(v);
        Object total = rest.remove("total_size");
        long blockSize = (Long) rest.get("block_size");
        if (blockSize <= 0) {
            throw new UsageException("block_size must be > 0");
        }
        double mib = total instanceof Long l ? l : (Double) total;
        if (!(mib > 0)) {
            throw new UsageException("total_size must be > 0");
        }
        long bytes = integerSize ? ((Long) total) << 20 : (long) (mib * 1024 * 1024);
        copy(rest, p);
        p.put("num_blocks", bytes / blockSize);
        return p;
    }
}
