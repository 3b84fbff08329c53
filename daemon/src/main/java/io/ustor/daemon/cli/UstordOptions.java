package io.ustor.daemon.cli;

import io.ustor.env.IovaMode;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** ustord's command line, SPDK's option names: parsed strictly, every mistake is a UsageException naming it. */
public record UstordOptions(CoreMask coreMask, Path config, Path rpcSocket, boolean waitForRpc, long memSizeMb,
                            Path hugeDir, boolean noHuge, List<String> logFlags, IdleMode idleMode, boolean help,
                            IovaMode iovaMode, Path vhostSockDir) {
    /** Components -L accepts: ustor's modules (their package is io.ustor.NAME), and "all". */
    public static final Set<String> LOG_COMPONENTS = Set.of("all", "env", "reactor", "bdev", "rpc", "daemon", "iscsi",
            "scsi", "nvmf", "vhost", "nvme", "blobstore", "perf");

    public static final String USAGE = """
            Usage: ustord [options]
              -m, --cpumask MASK        reactor cores: hex mask (0x3) or list ([0,1], [0-3]); default 0x1
              -c, --json FILE           JSON config (SPDK format) to load at start (also --config);
                                        without it, and without --wait-for-rpc, the built-in default config
                                        (a 64 MiB RAM bdev Malloc0 with 512 B blocks, exported over iSCSI
                                        as iqn.2026-11.io.ustor:malloc0 on 127.0.0.1:3260)
              -r, --rpc-socket PATH     JSON-RPC Unix socket; default /var/tmp/ustor.sock
                  --wait-for-rpc        wait for framework_start_init over RPC before initialising
              -s, --mem-size SIZE       DMA memory to reserve, in MiB (or with a K/M/G suffix); default: on demand
                  --huge-dir DIR        hugetlbfs mount for the memory files
                  --no-huge             ordinary locked memory instead of hugepages (RAM bdevs only, no devices)
                  --iova-mode MODE      device DMA addresses: va (virtual addresses, for vfio-pci; default) or
                                        pa (physical addresses, for uio_pci_generic without an IOMMU; root)
              -L, --logflag COMPONENT   debug logging for a component: all, env, reactor, bdev, rpc, daemon,
                                        iscsi, scsi, nvmf, vhost, nvme, blobstore (repeatable)
                  --idle-mode MODE      idle reactors: busy-spin (default, lowest latency) or adaptive
              -S, --vhost-sock-dir DIR  directory for vhost-user controller sockets; default: working directory
              -h, --help                this help
            """;

    public static UstordOptions defaults() {
        return new UstordOptions(CoreMask.parse("0x1"), null, Path.of("/var/tmp/ustor.sock"), false, 0, null, false,
                List.of(), IdleMode.BUSY_SPIN, false, IovaMode.VA, null);
    }

    public static UstordOptions parse(String[] args) throws UsageException {
        CoreMask mask = CoreMask.parse("0x1");
        Path config = null;
        Path socket = Path.of("/var/tmp/ustor.sock");
        boolean wait = false;
        long mem = 0;
        Path hugeDir = null;
        boolean noHuge = false;
        List<String> flags = new ArrayList<>();
        IdleMode idle = IdleMode.BUSY_SPIN;
        boolean help = false;
        IovaMode iova = IovaMode.VA;
        Path vhostSockDir = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a;
            String inline = null;
            if (a.startsWith("--") && a.contains("=")) {
                name = a.substring(0, a.indexOf('='));
                inline = a.substring(a.indexOf('=') + 1);
            } else if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-') {
                name = a.substring(0, 2); // -m0x3
                inline = a.substring(2);
            }
            switch (name) {
                case "-h", "--help" -> {
                    noValue(name, inline);
                    help = true;
                }
                case "--wait-for-rpc" -> {
                    noValue(name, inline);
                    wait = true;
                }
                case "--no-huge" -> {
                    noValue(name, inline);
                    noHuge = true;
                }
                case "-m", "--cpumask" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    try {
                        mask = CoreMask.parse(v);
                    } catch (RuntimeException e) {
                        throw new UsageException("invalid value for " + name + ": '" + v + "' (" + e.getMessage() + ")");
                    }
                }
                case "-c", "--json", "--config" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    config = Path.of(v);
                    if (!Files.isRegularFile(config) || !Files.isReadable(config)) {
                        throw new UsageException("invalid value for " + name + ": '" + v + "' is not a readable file");
                    }
                }
                case "-r", "--rpc-socket" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    if (v.isEmpty()) {
                        throw new UsageException("invalid value for " + name + ": empty path");
                    }
                    socket = Path.of(v);
                }
                case "-s", "--mem-size" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    mem = parseMiB(name, v);
                }
                case "--huge-dir" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    hugeDir = Path.of(v);
                    if (!Files.isDirectory(hugeDir)) {
                        throw new UsageException("invalid value for " + name + ": '" + v + "' is not a directory");
                    }
                }
                case "-L", "--logflag" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    if (!LOG_COMPONENTS.contains(v)) {
                        throw new UsageException("invalid value for " + name + ": unknown component '" + v
                                + "' (one of " + String.join(", ", LOG_COMPONENTS.stream().sorted().toList()) + ")");
                    }
                    flags.add(v);
                }
                case "--iova-mode" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    iova = switch (v) {
                        case "va" -> IovaMode.VA;
                        case "pa" -> IovaMode.PA;
                        default -> throw new UsageException("invalid value for " + name + ": '" + v + "' (va or pa)");
                    };
                }
                case "-S", "--vhost-sock-dir" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    vhostSockDir = Path.of(v).toAbsolutePath();
                    if (!Files.isDirectory(vhostSockDir)) {
                        throw new UsageException("invalid value for " + name + ": '" + v + "' is not a directory");
                    }
                }
                case "--idle-mode" -> {
                    String v = inline != null ? inline : value(args, ++i, name);
                    idle = switch (v) {
                        case "busy-spin", "busy_spin", "spin" -> IdleMode.BUSY_SPIN;
                        case "adaptive" -> IdleMode.ADAPTIVE;
                        default -> throw new UsageException("invalid value for " + name + ": '" + v
                                + "' (busy-spin or adaptive)");
                    };
                }
                default -> throw new UsageException(a.startsWith("-") ? "unknown option: " + name
                        : "unexpected argument: '" + a + "'");
            }
        }
        if (noHuge && iova == IovaMode.PA) {
            throw new UsageException("--iova-mode pa needs hugepages: --no-huge memory has no fixed physical addresses");
        }
        if (noHuge && hugeDir != null) {
            throw new UsageException("--huge-dir and --no-huge exclude each other");
        }
        return new UstordOptions(mask, config, socket, wait, mem, hugeDir, noHuge, List.copyOf(flags), idle, help, iova,
                vhostSockDir);
    }

    private static void noValue(String name, String inline) throws UsageException {
        if (inline != null) {
            throw new UsageException("option " + name + " takes no value");
        }
    }

    private static String value(String[] args, int i, String name) throws UsageException {
        if (i >= args.length) {
            throw new UsageException("option " + name + " needs a value");
        }
        return args[i];
    }

    /** "512" (MiB), "512M", "2G", "65536K". */
    static long parseMiB(String name, String v) throws UsageException {
        String s = v.trim().toUpperCase();
        long mult = 1;
        long div = 1;
        if (s.endsWith("MB") || s.endsWith("GB") || s.endsWith("KB")) {
            s = s.substring(0, s.length() - 1);
        }
        if (s.endsWith("G")) {
            mult = 1024;
            s = s.substring(0, s.length() - 1);
        } else if (s.endsWith("M")) {
            s = s.substring(0, s.length() - 1);
        } else if (s.endsWith("K")) {
            div = 1024;
            s = s.substring(0, s.length() - 1);
        }
        try {
            long n = Long.parseLong(s);
            if (n < 0 || n > (1L << 40) / mult) {
                throw new NumberFormatException();
            }
            return (n * mult + div - 1) / div;
        } catch (NumberFormatException e) {
            throw new UsageException("invalid value for " + name + ": '" + v + "' (a size in MiB, e.g. 512 or 2G)");
        }
    }
}
