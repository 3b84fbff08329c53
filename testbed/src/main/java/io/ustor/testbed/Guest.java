package io.ustor.testbed;

import io.ustor.testbed.internal.AcceleratorProbe;
import io.ustor.testbed.internal.HostTools;
import io.ustor.testbed.internal.ProcessReaper;
import io.ustor.testbed.internal.RecipeScripts;
import io.ustor.testbed.internal.Text;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running test guest: Debian 12 under QEMU (KVM if it works here, else TCG) that runs bash scripts and Java
 * mains on request and reports their output and exit status. Boot one per test class and run several checks in
 * it; close it to power it off. A guest never outlives its JVM: a command past its timeout kills it, a shutdown
 * hook kills what is left at exit, and a guard process kills QEMU if the JVM dies outright.
 *
 * <p>Inside the guest: the host's loopback is {@value #HOST_ADDRESS}; the project is at {@value #PROJECT_PATH},
 * the host's JDK at {@value #JDK_PATH} (java on PATH), Maven's repository at {@value #MAVEN_REPOSITORY_PATH} (all
 * read-only); the run folder ({@link #runDirectory()}) is {@value #RUN_PATH}, read-write; hugetlbfs is mounted on
 * /dev/hugepages; /dev/vda is the (throw-away) root disk; commands run as root in /root.
 *
 * <pre>{@code
 * try (Guest guest = Guest.builder().nvme(image).iommu(true).start()) {
 *     String out = guest.exec("modprobe nvme && nvme list").requireSuccess();
 * }
 * }</pre>
 */
public final class Guest implements AutoCloseable {
    /** The host's loopback (127.0.0.1) as the guest reaches it through QEMU's user network. */
    public static final String HOST_ADDRESS = "10.0.2.2";
    /** Where the guest sees the project root (read-only). */
    public static final String PROJECT_PATH = "/ustor";
    /** Where the guest sees the host's JDK (read-only). */
    public static final String JDK_PATH = "/opt/jdk";
    /** Where the guest sees Maven's local repository (read-only). */
    public static final String MAVEN_REPOSITORY_PATH = "/m2";
    /** Where the guest sees {@link #runDirectory()} (read-write). */
    public static final String RUN_PATH = "/host";

    private static final System.Logger LOG = System.getLogger(Guest.class.getName());
    private static final long POLL_MILLIS = 20;
    private static final long POWEROFF_SECONDS = 30;

    private final String name;
    private final Process process;
    private final Path runDir;
    private final Path commandDir;
    private final Accelerator accelerator;
    private final List<Share> shares;
    private final Map<Integer, Integer> forwards;
    private final List<String> jvmOptions;
    private final Duration commandTimeout;
    private int commandCount;
    private boolean failed;
    private boolean closed;
    private String classPathArgFile;

    private Guest(String name, Process process, Path runDir, Accelerator accelerator, List<Share> shares,
                  Map<Integer, Integer> forwards, GuestBuilder builder) {
        this.name = name;
        this.process = process;
        this.runDir = runDir;
        this.commandDir = runDir.resolve("cmd");
        this.accelerator = accelerator;
        this.shares = List.copyOf(shares);
        this.forwards = Map.copyOf(forwards);
        this.jvmOptions = List.copyOf(builder.guestJvmOptions);
        this.commandTimeout = builder.commandTimeout;
    }

    /** A new guest configuration; see {@link GuestBuilder}. */
    public static GuestBuilder builder() {
        return new GuestBuilder();
    }

    static Guest boot(GuestBuilder b, List<Share> shares) {
        Path qemu = HostTools.require("qemu-system-x86_64");
        GuestImage image = b.image != null ? b.image : GuestImage.ensure();
        Accelerator accel = b.accelerator != null ? b.accelerator : AcceleratorProbe.accelerator(image);
        Path runDir;
        try {
            runDir = Files.createTempDirectory("ustor-guest-" + b.name.replaceAll("[^A-Za-z0-9_.-]", "_") + "-");
            Files.createDirectories(runDir.resolve("cmd"));
            List<String> tags = new ArrayList<>();
            StringBuilder mounts = new StringBuilder();
            for (int i = 0; i < shares.size(); i++) {
                tags.add("s" + i);
                mounts.append(tags.get(i)).append(' ').append(shares.get(i).guestPath()).append(' ')
                        .append(shares.get(i).readOnly() ? "ro" : "rw").append('\n');
            }
            Files.writeString(runDir.resolve("mounts"), mounts);
            Map<Integer, Integer> forwards = resolvePorts(b.hostForwards);
            List<String> command = new ArrayList<>(List.of("bash", RecipeScripts.directory().resolve("qemu-guard.sh").toString(),
                    Long.toString(ProcessHandle.current().pid()), Long.toString(b.lifetime.toSeconds())));
            command.addAll(QemuCommandLine.build(qemu, b, image, accel, runDir, shares, tags, forwards));
            Files.writeString(runDir.resolve("qemu-command"), String.join(" ", command) + "\n");
            long start = System.nanoTime();
            Process process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(runDir.resolve("qemu.log").toFile())
                    .start();
            ProcessReaper.track(process);
            Guest guest = new Guest(b.name, process, runDir, accel, shares, forwards, b);
            try {
                guest.awaitReady(b.bootTimeout);
            } catch (RuntimeException e) {
                guest.kill(); // whatever went wrong (also an interrupt), no QEMU stays behind
                throw e;
            }
            LOG.log(System.Logger.Level.INFO, () -> "guest " + b.name + ": up after "
                    + (System.nanoTime() - start) / 1_000_000 + " ms (" + accel + "), run folder " + runDir);
            return guest;
        } catch (IOException e) {
            throw new UncheckedIOException("guest " + b.name + ": cannot start QEMU", e);
        }
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Path ready = runDir.resolve("ready");
        while (!Files.exists(ready)) {
            if (!process.isAlive()) {
                failed = true;
                ProcessReaper.untrack(process);
                throw new GuestException("guest " + name + ": QEMU exited (status " + process.exitValue()
                        + ") before the guest was up" + diagnostics());
            }
            if (System.nanoTime() > deadline) {
                kill();
                throw new GuestException("guest " + name + ": not up after " + timeout.toSeconds() + " s" + diagnostics());
            }
            sleep();
        }
    }

    /** Runs {@code script} with bash in the guest, within the default command timeout. */
    public GuestResult exec(String script) {
        return exec(script, commandTimeout);
    }

    /**
     * Runs {@code script} with bash in the guest and returns its exit status and output. A command still running
     * after {@code timeout} kills the guest (its state is unknown): this throws {@link GuestException}, and so do
     * later calls.
     */
    public synchronized GuestResult exec(String script, Duration timeout) {
        requireRunning();
        int n = ++commandCount;
        Path out = commandDir.resolve(n + ".out");
        Path rc = commandDir.resolve(n + ".rc");
        long start = System.nanoTime();
        try {
            Path tmp = commandDir.resolve(n + ".sh.tmp");
            Files.writeString(tmp, script + "\n");
            // the guest polls for N.sh: it must appear complete
            Files.move(tmp, commandDir.resolve(n + ".sh"), StandardCopyOption.ATOMIC_MOVE);
            long deadline = start + timeout.toNanos();
            while (!Files.exists(rc)) {
                if (!process.isAlive()) {
                    failed = true;
                    ProcessReaper.untrack(process);
                    throw new GuestException("guest " + name + ": QEMU exited (status " + process.exitValue()
                            + ") while running:\n" + script + "\n--- output so far:\n" + readIfExists(out) + diagnostics());
                }
                if (System.nanoTime() > deadline) {
                    kill();
                    throw new GuestException("guest " + name + ": command still running after " + timeout.toSeconds()
                            + " s, guest killed. Command:\n" + script + "\n--- output so far:\n" + readIfExists(out)
                            + diagnostics());
                }
                sleep();
            }
            int exitCode = parseExitCode(Files.readString(rc));
            String output = Files.readString(out, StandardCharsets.UTF_8);
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            LOG.log(System.Logger.Level.DEBUG, () -> "guest " + name + ": command " + n + " exited " + exitCode
                    + " after " + elapsed.toMillis() + " ms");
            return new GuestResult(script, exitCode, output, elapsed);
        } catch (IOException e) {
            kill();
            throw new UncheckedIOException("guest " + name + ": command " + n + " in " + commandDir, e);
        } catch (RuntimeException e) {
            kill(); // a timeout, QEMU's exit or an interrupt: the guest's state is unknown, end it
            throw e;
        }
    }

    private static int parseExitCode(String text) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new GuestException("unreadable exit status file: '" + text + "'");
        }
    }

    /**
     * Runs a Java main class on the host's JDK inside the guest, with this JVM's class path (each entry seen
     * through a share, or copied into the run folder if no share holds it).
     */
    public GuestResult java(String mainClass, String... args) {
        return exec(javaCommand(mainClass, args));
    }

    /** The shell command {@link #java} runs, to use inside a larger script (e.g. started in the background). */
    public synchronized String javaCommand(String mainClass, String... args) {
        StringBuilder command = new StringBuilder(JDK_PATH + "/bin/java");
        for (String option : jvmOptions) {
            command.append(' ').append(Text.shellQuote(option));
        }
        command.append(" @").append(classPathArgFile()).append(' ').append(Text.shellQuote(mainClass));
        for (String arg : args) {
            command.append(' ').append(Text.shellQuote(arg));
        }
        return command.toString();
    }

    /** Where the guest sees {@code hostFile}, through one of its shares; IllegalArgumentException if none holds it. */
    public String guestPath(Path hostFile) {
        Share run = new Share(runDir, RUN_PATH, false);
        for (Share share : concat(run, shares)) {
            String path = share.guestPathOf(hostFile);
            if (path != null) {
                return path;
            }
        }
        throw new IllegalArgumentException("guest " + name + ": no share holds " + hostFile);
    }

    /** The host port (on 127.0.0.1) forwarded to the guest's {@code guestPort}. */
    public int hostPort(int guestPort) {
        Integer port = forwards.get(guestPort);
        if (port == null) {
            throw new IllegalArgumentException("guest " + name + ": port " + guestPort + " is not forwarded");
        }
        return port;
    }

    /**
     * Runs one command on QEMU's human monitor (the guest must be built with {@link GuestBuilder#monitor()}) and
     * returns its output without the echo and prompt, e.g. {@code monitorCommand("device_del hot0")} (hot-remove:
     * the guest is asked to release the device, QEMU removes it when it has) or {@code "info pci"}.
     */
    public synchronized String monitorCommand(String command) {
        requireRunning();
        Path socket = runDir.resolve(QemuCommandLine.MONITOR_SOCKET);
        if (!Files.exists(socket)) {
            throw new IllegalStateException("guest " + name + " has no monitor: build it with GuestBuilder.monitor()");
        }
        if (command.contains("\n")) {
            throw new IllegalArgumentException("one monitor command per call: " + command);
        }
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            StringBuilder text = new StringBuilder();
            readUntilPrompt(ch, text); // the banner
            text.setLength(0);
            ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
            readUntilPrompt(ch, text);
            String out = text.substring(0, text.length() - MONITOR_PROMPT.length());
            int echoEnd = out.indexOf('\n'); // the monitor echoes the command line first
            out = echoEnd < 0 ? "" : out.substring(echoEnd + 1);
            LOG.log(System.Logger.Level.DEBUG, () -> "guest " + name + ": monitor " + command);
            return out.replace("\r", "");
        } catch (IOException e) {
            throw new UncheckedIOException("guest " + name + ": monitor command " + command, e);
        }
    }

    private static final String MONITOR_PROMPT = "(qemu) ";

    private void readUntilPrompt(SocketChannel ch, StringBuilder text) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(text.length() >= MONITOR_PROMPT.length() && text.lastIndexOf(MONITOR_PROMPT) == text.length() - MONITOR_PROMPT.length())) {
            if (System.nanoTime() > deadline) {
                throw new GuestException("guest " + name + ": no monitor prompt after 30 s; got: " + text);
            }
            buf.clear();
            if (ch.read(buf) < 0) {
                throw new GuestException("guest " + name + ": monitor closed the connection; got: " + text);
            }
            text.append(new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1));
        }
    }

    /** The host folder the guest sees at {@value #RUN_PATH} (read-write): drop files here for the guest. */
    public Path runDirectory() {
        return runDir;
    }

    public Accelerator accelerator() {
        return accelerator;
    }

    public String name() {
        return name;
    }

    /** QEMU's process (well, its guard's: QEMU is a child of it). */
    public ProcessHandle processHandle() {
        return process.toHandle();
    }

    public boolean isRunning() {
        return !closed && process.isAlive();
    }

    /** The guest's serial console so far (kernel messages, init's lines). */
    public String consoleLog() {
        return readIfExists(runDir.resolve("console.log"));
    }

    /** QEMU's own output so far (warnings such as "vtd_iommu_translate: detected translation failure"). */
    public String qemuLog() {
        return readIfExists(runDir.resolve("qemu.log"));
    }

    /**
     * Powers the guest off and waits for QEMU to exit (killing it if it does not in 30 s). The run folder is deleted
     * unless something failed, in which case it stays for a look (the path is logged).
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (process.isAlive()) {
                Files.writeString(commandDir.resolve("poweroff"), "");
                if (!process.waitFor(POWEROFF_SECONDS, TimeUnit.SECONDS)) {
                    failed = true;
                    LOG.log(System.Logger.Level.WARNING, "guest " + name + ": did not power off in "
                            + POWEROFF_SECONDS + " s, killing QEMU");
                }
            }
        } catch (IOException e) {
            failed = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed = true;
        } finally {
            ProcessReaper.destroyTree(process);
        }
        if (failed) {
            LOG.log(System.Logger.Level.WARNING, "guest " + name + ": run folder kept: " + runDir);
        } else {
            ProcessReaper.deleteRecursively(runDir);
        }
    }

    @Override
    public String toString() {
        return "Guest[" + name + ", " + accelerator + ", " + runDir + "]";
    }

    private String classPathArgFile() {
        if (classPathArgFile == null) {
            String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            List<String> entries = new ArrayList<>();
            Path copies = runDir.resolve("classpath");
            int i = 0;
            for (String entry : classPath.split(File.pathSeparator)) {
                if (entry.isBlank()) {
                    continue;
                }
                Path file = Path.of(entry).toAbsolutePath().normalize();
                if (!Files.exists(file)) {
                    continue;
                }
                String mapped = mappedPath(file);
                if (mapped == null) {
                    mapped = copyIntoRunDir(file, copies.resolve(i++ + "-" + file.getFileName()));
                }
                entries.add(mapped);
            }
            try {
                // an argument file: the class path can be longer than a command line should be
                Files.writeString(runDir.resolve("classpath.args"), "-cp " + String.join(":", entries) + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            classPathArgFile = RUN_PATH + "/classpath.args";
        }
        return classPathArgFile;
    }

    private String mappedPath(Path file) {
        for (Share share : shares) {
            String path = share.guestPathOf(file);
            if (path != null) {
                return path;
            }
        }
        return null;
    }

    private String copyIntoRunDir(Path source, Path target) {
        try {
            Files.createDirectories(target.getParent());
            if (Files.isDirectory(source)) {
                try (var files = Files.walk(source)) {
                    for (Path p : (Iterable<Path>) files::iterator) {
                        Path dest = target.resolve(source.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(dest);
                        } else {
                            Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return RUN_PATH + "/" + runDir.relativize(target);
        } catch (IOException e) {
            throw new UncheckedIOException("guest " + name + ": cannot copy class path entry " + source, e);
        }
    }

    private void requireRunning() {
        if (closed) {
            throw new IllegalStateException("guest " + name + " is closed");
        }
        if (!process.isAlive()) {
            throw new GuestException("guest " + name + " is not running (QEMU exited)" + diagnostics());
        }
    }

    private void kill() {
        failed = true;
        ProcessReaper.destroyTree(process);
    }

    private String diagnostics() {
        return "\n--- console (last lines):\n" + Text.tail(consoleLog(), 30)
                + "\n--- QEMU log (last lines):\n" + Text.tail(qemuLog(), 15) + "\n--- run folder: " + runDir;
    }

    private static Map<Integer, Integer> resolvePorts(Map<Integer, Integer> requested) throws IOException {
        Map<Integer, Integer> resolved = new LinkedHashMap<>();
        for (Map.Entry<Integer, Integer> e : requested.entrySet()) {
            int hostPort = e.getValue();
            if (hostPort == 0) {
                try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                    hostPort = probe.getLocalPort();
                }
            }
            resolved.put(e.getKey(), hostPort);
        }
        return resolved;
    }

    private static List<Share> concat(Share first, List<Share> rest) {
        List<Share> all = new ArrayList<>(rest.size() + 1);
        all.add(first);
        all.addAll(rest);
        return all;
    }

    private static String readIfExists(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted while waiting for the guest");
        }
    }
}
