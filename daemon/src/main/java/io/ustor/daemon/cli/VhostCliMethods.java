package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.cli.CliArgs.Type;
import io.ustor.daemon.cli.CliMethod.Output;

import java.util.Map;

/**
 * ustor-rpc's vhost-blk and virtio-user commands in rpc.py's form (python/spdk/cli/vhost.py and the virtio part of
 * bdev.py): the controller name and bdev as positionals, the virtio controller's transport options as
 * {@code -t/-a/-d}. Like rpc.py, create/delete print nothing and attach prints the new bdev names.
 */
final class VhostCliMethods {
    private VhostCliMethods() {
    }

    static void addTo(Map<String, CliMethod> m) {
        add(m, "vhost_create_blk_controller", "Add a new vhost block controller", new CliArgs()
                        .positional("ctrlr", Type.STRING, "controller name")
                        .positional("dev_name", Type.STRING, "device name")
                        .option(null, "--cpumask", "cpumask", Type.STRING, "cpu mask for this controller")
                        .option(null, "--transport", "transport", Type.STRING,
                                "virtio blk transport name (default: vhost_user_blk)")
                        .option("-r", "--readonly", "readonly", Type.FLAG, "Set controller as read-only")
                        .option("-p", "--packed_ring", "packed_ring", Type.FLAG,
                                "Set controller as packed ring supported"),
                Output.NONE);
        add(m, "vhost_get_controllers", "List all or specific vhost controller(s)", new CliArgs()
                        .option("-n", "--name", "name", Type.STRING, "Name of vhost controller"),
                Output.DICT);
        add(m, "vhost_delete_controller", "Delete a vhost controller", new CliArgs()
                        .positional("ctrlr", Type.STRING, "controller name"),
                Output.NONE);
        add(m, "bdev_virtio_attach_controller", "Attach virtio controller using provided transport type and device "
                        + "type. Result is array of added bdevs.", new CliArgs()
                        .positional("name", Type.STRING, "Use this name as base for new created bdevs")
                        .requiredOption("-t", "--trtype", "trtype", Type.STRING,
                                "Virtio target transport type: pci or user (ustor: user)")
                        .requiredOption("-a", "--traddr", "traddr", Type.STRING,
                                "Transport type specific target address: e.g. UNIX domain socket path or BDF")
                        .requiredOption("-d", "--dev-type", "dev_type", Type.STRING,
                                "Device type: blk or scsi (ustor: blk)")
                        .option(null, "--vq-count", "vq_count", Type.INT, "Number of virtual queues to be used.")
                        .option(null, "--vq-size", "vq_size", Type.INT, "Size of each queue"),
                Output.ARRAY);
        add(m, "bdev_virtio_detach_controller", "Remove a Virtio device", new CliArgs()
                        .positional("name", Type.STRING, "Virtio device name. E.g. VirtioUser0"),
                Output.NONE);
    }

    private static void add(Map<String, CliMethod> m, String name, String help, CliArgs args, Output out) {
        m.put(name, new CliMethod(name, help, args, VhostCliMethods::copy, out));
    }

    /** rpc.py's remove_null: every given value under its dest name. */
    private static ObjectNode copy(Map<String, Object> v, ObjectNode p) {
        for (Map.Entry<String, Object> e : v.entrySet()) {
            Object o = e.getValue();
            if (o instanceof String s) {
                p.put(e.getKey(), s);
            } else if (o instanceof Long l) {
                p.put(e.getKey(), l);
            } else if (o instanceof Boolean b) {
                p.put(e.getKey(), b);
            }
        }
        return p;
    }
}
