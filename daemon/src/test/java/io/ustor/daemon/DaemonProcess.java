package io.ustor.daemon;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** bin/ustord (or bin/ustor-rpc) as a real process, with its output collected. */
final class DaemonProcess implements AutoCloseable {
    static final Path BIN = Path.of(System.getProperty("ustor.bin", "../bin")).toAbsolutePath().normalize();

    final Process process;
    final List<String> stdout = new CopyOnWriteArrayList<>();
    final List<String> stderr = new CopyOnWriteArrayList<>();

    private DaemonProcess(Process p) {
        this.process = p;
        pump(p.inputReader(StandardCharsets.UTF_8), stdout);
        pump(p.errorReader(StandardCharsets.UTF_8), stderr);
    }

    private static void pump(BufferedReader r, List<String> into) {
        Thread.ofPlatform().daemon().start(() -> {
            try (r) {
                String line;
                while ((line = r.readLine()) != null) {
                    into.add(line);
                }
            } catch (IOException ignored) {
                // process gone
            }
        });
    }

    /** bin/ustord with a private socket, no hugepages, one adaptive reactor, plus {@code extra}. */
    static DaemonProcess startUstord(Path socket, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("ustord").toString(), "-r", socket.toString(),
                "--no-huge", "-m", "0x1", "--idle-mode", "adaptive"));
        cmd.addAll(List.of(extra));
        return new DaemonProcess(new ProcessBuilder(cmd).start());
    }

    /**
     * The built-in default config with its iSCSI portal on a free port (127.0.0.1:0) instead of 3260, so tests that
     * start several daemons (or run beside another target) do not fight over the port.
     */
    static Path defaultConfigOnFreePort(Path dir) throws IOException {
        String config;
        try (var in = Ustord.class.getResourceAsStream("default-config.json")) {
            if (in == null) {
                throw new IOException("default-config.json is not on the class path");
            }
            config = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String portal = "\"port\": \"3260\"";
        if (!config.contains(portal)) {
            throw new AssertionError("the default config has no portal on 3260:\n" + config);
        }
        Path file = dir.resolve("default-free-port.json");
        java.nio.file.Files.writeString(file, config.replace(portal, "\"port\": \"0\""));
        return file;
    }

    static DaemonProcess run(String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(BIN.resolve(script).toString());
        cmd.addAll(List.of(args));
        return new DaemonProcess(new ProcessBuilder(cmd).start());
    }

    /** Waits until stdout has a line starting with {@code prefix} (or the process exits); true if it came. */
    boolean awaitLine(String prefix) throws InterruptedException {
        for (int i = 0; i < 1200; i++) { // a cap for a loaded machine, not a timing assertion
            for (String l : stdout) {
                if (l.startsWith(prefix)) {
                    return true;
                }
            }
            if (!process.isAlive() && i > 0) {
                Thread.sleep(100); // let the pumps drain
                return stdout.stream().anyMatch(l -> l.startsWith(prefix));
            }
            Thread.sleep(100);
        }
        return false;
    }

    void awaitReady() throws InterruptedException {
        if (!awaitLine("ustord: ready")) {
            throw new AssertionError("ustord did not become ready\nstdout: " + stdout + "\nstderr: " + stderr);
        }
    }

    /** Exit status, waiting for it. */
    int waitFor() throws InterruptedException {
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("process did not exit\nstdout: " + stdout + "\nstderr: " + stderr);
        }
        Thread.sleep(50);
        return process.exitValue();
    }

    String out() {
        return String.join("\n", stdout);
    }

    String err() {
        return String.join("\n", stderr);
    }

    /** SIGTERM. */
    void terminate() {
        process.destroy();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
