package io.ustor.perf;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * bdevperf's command line, with SPDK bdevperf's option names so scripts written for SPDK work unchanged.
 *
 * @param jsonConfig        {@code --json/-c}: SPDK JSON config that creates the bdevs
 * @param queueDepth        {@code -q}: I/Os in flight per job
 * @param ioSize            {@code -o}: bytes per I/O
 * @param workload          {@code -w}
 * @param readPercentage    {@code -M} for rw/randrw (otherwise implied by the workload)
 * @param timeSeconds       {@code -t}
 * @param coreMask          {@code -m}: reactor cores, SPDK mask syntax
 * @param bdevName          {@code -T}: only this bdev (null = every bdev)
 * @param progressSeconds   {@code -S}: seconds between progress lines (SPDK prints per-job lines then)
 * @param perJobProgress    true when {@code -S} was given (per-job progress table, as SPDK does)
 * @param everyCore         {@code -C}: a job per bdev on every core, each on its own slice of the bdev
 * @param continueOnFailure {@code -f}: keep going after I/O errors (they still fail the exit code)
 * @param jsonResults       {@code --json-results FILE}: write results as JSON ("-" = stdout); null = none
 * @param memSizeMb         {@code -s}: DMA memory to reserve, MiB (0 = default)
 * @param hugeDir           {@code --huge-dir}
 * @param noHuge            {@code --no-huge}: ordinary locked memory instead of hugepages
 * @param warnings          non-fatal remarks about the command line (printed by the tool)
 */
public record BdevperfOptions(Path jsonConfig, int queueDepth, int ioSize, Workload workload, int readPercentage,
                              int timeSeconds, String coreMask, String bdevName, int progressSeconds,
                              boolean perJobProgress, boolean everyCore, boolean continueOnFailure,
                              Path jsonResults, long memSizeMb, Path hugeDir, boolean noHuge, List<String> warnings) {

    public static final String DEFAULT_CORE_MASK = "0x1";

    public BdevperfOptions {
        warnings = List.copyOf(warnings);
    }

    /** True when JSON results go to stdout (the human-readable report then goes to stderr). */
    public boolean jsonToStdout() {
        return jsonResults != null && jsonResults.toString().equals("-");
    }

    /** Parses {@code args}; {@code -h/--help} throws a UsageException whose message is the usage text. */
    public static BdevperfOptions parse(String... args) throws UsageException {
        return new Parser(args).parse();
    }

    public static String usage() {
        return """
                Usage: bdevperf [options]
                 -c, --json <config>       JSON config file that creates the bdevs (SPDK format)
                 -m, --cpumask <mask>      core mask for the reactors, e.g. 0x3 or [0-1] (default 0x1)
                 -s, --mem-size <MiB>      DMA memory to reserve
                     --huge-dir <dir>      hugetlbfs mount to use
                     --no-huge             use ordinary locked memory instead of hugepages
                 -q <depth>                io depth
                 -o <size>                 io size in bytes (4096, 4k, 128K, 1M)
                 -w <type>                 io pattern type, must be one of %s
                 -t <time>                 time in seconds
                 -M <percent>              rwmixread (100 for reads, 0 for writes), rw/randrw only
                 -S <period>               show per-job performance every <period> seconds (default: a total line every second)
                 -T <bdev>                 bdev to run against. Default: all available bdevs.
                 -C                        enable every core to send I/Os to each bdev
                 -f                        continue processing I/O even after failures
                     --json-results <file> write the results as JSON to <file> ("-" = stdout)
                 -h, --help                this text
                """.formatted(Workload.choices());
    }

    /** getopt-style: "-q 128", "-q128", "--json f", "--json=f"; flags may not be bundled. */
    private static final class Parser {
        private final String[] args;
        private int pos;
        private final List<String> warnings = new ArrayList<>();

        Parser(String[] args) {
            this.args = args;
        }

        BdevperfOptions parse() throws UsageException {
            Path json = null, jsonResults = null, hugeDir = null;
            int q = 0, t = 0, m = -1, progress = 1;
            long o = 0, mem = 0;
            Workload w = null;
            String mask = DEFAULT_CORE_MASK, bdev = null;
            boolean perJob = false, everyCore = false, cont = false, noHuge = false;
            while (pos < args.length) {
                String a = args[pos++];
                String inline = null;
                String name = a;
                if (a.startsWith("--")) {
                    int eq = a.indexOf('=');
                    if (eq > 0) {
                        name = a.substring(0, eq);
                        inline = a.substring(eq + 1);
                    }
                } else if (a.startsWith("-") && a.length() > 2) {
                    name = a.substring(0, 2);
                    inline = a.substring(2);
                } else if (!a.startsWith("-") || a.length() < 2) {
                    throw new UsageException("unexpected argument '" + a + "'");
                }
                switch (name) {
                    case "-c", "--json", "--config" -> json = Path.of(value(name, inline));
                    case "-m", "--cpumask" -> mask = value(name, inline);
                    case "-s", "--mem-size" -> mem = capacityMb(name, value(name, inline));
                    case "--huge-dir" -> hugeDir = Path.of(value(name, inline));
                    case "--no-huge" -> noHuge = flag(name, inline);
                    case "-q" -> q = positiveInt(name, value(name, inline));
                    case "-o" -> o = size(name, value(name, inline));
                    case "-w" -> {
                        String v = value(name, inline);
                        w = Workload.parse(v);
                        if (w == null) {
                            throw new UsageException("-w: '" + v + "' is not an io pattern; must be one of " + Workload.choices());
                        }
                    }
                    case "-t" -> t = positiveInt(name, value(name, inline));
                    case "-M" -> {
                        m = nonNegativeInt(name, value(name, inline));
                        if (m > 100) {
                            throw new UsageException("-M: " + m + " is not a percentage (0-100)");
                        }
                    }
                    case "-S" -> {
                        progress = positiveInt(name, value(name, inline));
                        perJob = true;
                    }
                    case "-T" -> bdev = value(name, inline);
                    case "-C" -> everyCore = flag(name, inline);
                    case "-f" -> cont = flag(name, inline);
                    case "--json-results" -> jsonResults = Path.of(value(name, inline));
                    case "-h", "--help" -> throw new UsageException(usage());
                    default -> throw new UsageException("unknown option '" + a + "'\n" + usage());
                }
            }
            if (q <= 0) {
                throw new UsageException("-q (io depth) is required");
            }
            if (o <= 0) {
                throw new UsageException("-o (io size) is required");
            }
            if (w == null) {
                throw new UsageException("-w (io pattern) is required; one of " + Workload.choices());
            }
            if (t <= 0) {
                throw new UsageException("-t (time in seconds) is required");
            }
            int read;
            if (w.mixed()) {
                if (m < 0) {
                    throw new UsageException("-M must be specified to value from 0 to 100 for rw or randrw");
                }
                read = m;
            } else {
                if (m >= 0) {
                    warnings.add("Ignoring -M option... Please use -M option only when using rw or randrw.");
                }
                read = w.fixedReadPercentage();
            }
            return new BdevperfOptions(json, q, (int) o, w, read, t, mask, bdev, progress, perJob, everyCore, cont,
                    jsonResults, mem, hugeDir, noHuge, warnings);
        }

        private String value(String name, String inline) throws UsageException {
            if (inline != null) {
                return inline;
            }
            if (pos >= args.length) {
                throw new UsageException(name + " needs a value");
            }
            return args[pos++];
        }

        private static boolean flag(String name, String inline) throws UsageException {
            if (inline != null) {
                throw new UsageException(name + " takes no value");
            }
            return true;
        }

        private static int positiveInt(String name, String v) throws UsageException {
            int n = nonNegativeInt(name, v);
            if (n == 0) {
                throw new UsageException(name + ": must be greater than 0");
            }
            return n;
        }

        private static int nonNegativeInt(String name, String v) throws UsageException {
            try {
                long n = Long.parseLong(v.trim());
                if (n < 0) {
                    throw new UsageException(name + ": '" + v + "' is negative");
                }
                if (n >= Integer.MAX_VALUE) {
                    throw new UsageException(name + ": '" + v + "' is too large");
                }
                return (int) n;
            } catch (NumberFormatException e) {
                throw new UsageException(name + ": '" + v + "' is not a number");
            }
        }

        private static long size(String name, String v) throws UsageException {
            long n;
            try {
                n = Capacity.parse(v);
            } catch (NumberFormatException e) {
                throw new UsageException(name + ": invalid IO size: " + e.getMessage());
            }
            if (n <= 0) {
                throw new UsageException(name + ": io size must be greater than 0");
            }
            if (n >= Integer.MAX_VALUE) {
                throw new UsageException(name + ": io size '" + v + "' is too large");
            }
            return n;
        }

        private static long capacityMb(String name, String v) throws UsageException {
            try {
                // SPDK's -s takes MiB, or a size with a unit.
                boolean bare = v.chars().allMatch(Character::isDigit);
                long bytes = bare ? Capacity.parse(v + "M") : Capacity.parse(v);
                return Math.max(1, bytes >> 20);
            } catch (NumberFormatException e) {
                throw new UsageException(name + ": " + e.getMessage());
            }
        }
    }
}
