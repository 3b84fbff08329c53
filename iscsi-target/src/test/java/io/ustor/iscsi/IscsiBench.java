package io.ustor.iscsi;

import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The iSCSI benchmark of issue 4 (not a test): a target with a 1 GiB malloc LUN (512-byte blocks) on one reactor
 * pinned to core 0, and the real clients pinned to core 1 ({@code taskset -c 1}): {@code qemu-img bench} sequential
 * read and write at QD32, 4 KiB, and {@code iscsi-perf -m 32 -b 8 -r}. For each run it prints IOPS and the
 * reactor thread's CPU time per I/O (from /proc/self/task/TID/schedstat, divided by the I/Os the bdev counted).
 *
 * <p>Args: {@code [adaptive|busy] [rounds] [qemu-img count] [iscsi-perf seconds] [workloads: read,write,perf]}.
 * Run with the module's test class path, e.g. {@code iscsi-target/bench.sh}.
 */
public final class IscsiBench {
    public static void main(String[] args) throws Exception {
        IdleMode idle = args.length > 0 && args[0].equals("busy") ? IdleMode.BUSY_SPIN : IdleMode.ADAPTIVE;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int count = args.length > 2 ? Integer.parseInt(args[2]) : 300000;
        int perfSeconds = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        List<String> workloads = List.of((args.length > 4 ? args[4] : "read,write,perf").split(","));

        ReactorGroup reactors = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(idle).withPinThreads(true));
        BdevRegistry bdevs = new BdevRegistry(reactors);
        bdevs.register(MallocBdev.create("Malloc0", 2L * 1024 * 1024, 512, null));
        IscsiTarget target = IscsiTarget.start(reactors, bdevs, IscsiOptions.defaults());
        try {
            target.createPortalGroup(1, List.of(new Portal("127.0.0.1", 0)), false);
            target.createInitiatorGroup(1, List.of("ANY"), List.of("ANY"));
            target.createTargetNode(TestTarget.IQN, "disk1", List.of(new PgIgMapping(1, 1)),
                    List.of(new LunSpec("Malloc0", 0)), 64, ChapPolicy.none(), false, false);
            String url = "iscsi://127.0.0.1:" + target.boundAddress(1).getPort() + "/" + TestTarget.IQN + "/0";
            int tid = reactors.reactor(0).osThreadId();
            System.out.printf(Locale.ROOT, "idle=%s url=%s reactor tid=%d%n", idle, url, tid);
            var bdev = bdevs.lookup("Malloc0");
            // Touch all of the LUN once, so that no run pays for the malloc bdev's first-touch page faults.
            Process fill = new ProcessBuilder("taskset", "-c", "1", "qemu-img", "bench", "-f", "raw", "-t", "none",
                    "-w", "-c", "262144", "-d", "32", "-s", "4096", url).redirectErrorStream(true).start();
            fill.getInputStream().readAllBytes();
            fill.waitFor();
            for (int round = 0; round < rounds; round++) {
                for (String w : workloads) {
                    List<String> cmd = new ArrayList<>(List.of("taskset", "-c", "1"));
                    switch (w) {
                        case "read" -> cmd.addAll(List.of("qemu-img", "bench", "-f", "raw", "-t", "none", "-c",
                                Integer.toString(count), "-d", "32", "-s", "4096", url));
                        case "write" -> cmd.addAll(List.of("qemu-img", "bench", "-f", "raw", "-t", "none", "-w",
                                "-c", Integer.toString(count), "-d", "32", "-s", "4096", url));
                        case "perf" -> cmd.addAll(List.of("iscsi-perf", "-m", "32", "-b", "8", "-r", "-t",
                                Integer.toString(perfSeconds), url));
                        default -> throw new IllegalArgumentException("workload " + w);
                    }
                    long ops0 = bdev.stats().ops(IoType.READ) + bdev.stats().ops(IoType.WRITE);
                    long cpu0 = cpuNanos(tid);
                    long busy0 = reactors.reactor(0).stats().busyNanos();
                    long t0 = System.nanoTime();
                    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes());
                    int rc = p.waitFor();
                    long wall = System.nanoTime() - t0;
                    long cpu = cpuNanos(tid) - cpu0;
                    long busy = reactors.reactor(0).stats().busyNanos() - busy0;
                    long ops = bdev.stats().ops(IoType.READ) + bdev.stats().ops(IoType.WRITE) - ops0;
                    if (rc != 0 && !w.equals("perf")) {
                        System.out.println(out);
                    }
                    System.out.printf(Locale.ROOT,
                            "RESULT %-5s round %d: %8.0f IOPS (wall, incl. login)  %6.2f us reactor CPU/IO  "
                                    + "(%5.2f us in busy loops)  reactor on CPU %3.0f%%  ios=%d rc=%d%n",
                            w, round, ops * 1e9 / wall, cpu / 1000.0 / Math.max(ops, 1),
                            busy / 1000.0 / Math.max(ops, 1), 100.0 * cpu / wall, ops, rc);
                }
            }
        } finally {
            target.close();
            bdevs.unregisterAll().join();
            reactors.close();
        }
    }

    /** Nanoseconds the thread has run on a CPU (the first field of schedstat). */
    private static long cpuNanos(int tid) throws IOException {
        String s = Files.readString(Path.of("/proc/self/task/" + tid + "/schedstat"));
        return Long.parseLong(s.substring(0, s.indexOf(' ')));
    }
}
