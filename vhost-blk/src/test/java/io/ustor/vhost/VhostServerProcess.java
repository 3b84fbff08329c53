package io.ustor.vhost;

import io.ustor.bdev.BdevRegistry;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A vhost-user-blk server in its own JVM, for tests that kill it: serves a {@link HoldingFileBdev} over
 * {@code SOCKET_DIR/vhost.0}. Prints "ready" when listening, "resubmitted N" whenever a front end's queues started
 * with requests left in flight by a previous server, "holding N" when told "hold N" on stdin and N requests are
 * parked (after "hold set", from which on it parks).
 *
 * <p>Arguments: SOCKET_DIR DATA_FILE NUM_BLOCKS BLOCK_SIZE
 */
public final class VhostServerProcess {
    private VhostServerProcess() {
    }

    /** The command line that runs this class in a fresh JVM with the test class path. */
    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(VhostServerProcess.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path file = Path.of(args[1]);
        long blocks = Long.parseLong(args[2]);
        int blockSize = Integer.parseInt(args[3]);
        ReactorGroup group = ReactorGroup.start(CoreMask.parse("0x1"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        BdevRegistry bdevs = new BdevRegistry(group);
        int[] holdCount = {0};
        HoldingFileBdev bdev = new HoldingFileBdev("Held0", file, blocks, blockSize,
                () -> say("holding " + holdCount[0]));
        bdevs.register(bdev);
        VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("vhost.0", dir, "Held0").withMaxQueues(1)
                .withPackedRing(args.length > 4 && args[4].equals("packed")), bdevs);
        say("ready");
        Thread.ofPlatform().daemon().start(() -> {
            long seen = 0;
            while (true) {
                long r = ctrl.resubmittedRequests();
                if (r != seen) {
                    say("resubmitted " + (r - seen));
                    seen = r;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.startsWith("hold ")) {
                holdCount[0] = Integer.parseInt(line.substring(5).trim());
                bdev.hold(holdCount[0]);
                say("hold set");
            }
        }
        ctrl.close();
        group.close();
    }

    private static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }
}
