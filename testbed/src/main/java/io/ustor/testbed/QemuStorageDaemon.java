package io.ustor.testbed;

import io.ustor.testbed.internal.HostTools;
import io.ustor.testbed.internal.ProcessReaper;
import io.ustor.testbed.internal.RecipeScripts;
import io.ustor.testbed.internal.Text;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * qemu-storage-daemon on the host exporting a raw file as a vhost-user-blk server: the stand-in back end for guest
 * tests of QEMU's vhost-user-blk device, and a peer to compare ustor's own server with. Killed with the JVM like a
 * guest is.
 */
public final class QemuStorageDaemon implements AutoCloseable {
    private static final long START_TIMEOUT_MILLIS = 30_000;

    private final Process process;
    private final Path socket;
    private final Path log;

    private QemuStorageDaemon(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /**
     * Starts exporting {@code image} (raw, read-write) on the unix socket {@code socket} (created by the daemon; an
     * old one is removed) with {@code numQueues} queues, and returns once the socket is there.
     */
    public static QemuStorageDaemon vhostUserBlk(Path image, Path socket, int numQueues) {
        Path qsd = HostTools.require("qemu-storage-daemon");
        try {
            Files.deleteIfExists(socket);
            Path log = Files.createTempFile("ustor-qsd-", ".log");
            List<String> command = List.of("bash", RecipeScripts.directory().resolve("qemu-guard.sh").toString(),
                    Long.toString(ProcessHandle.current().pid()), Long.toString(4 * 3600), qsd.toString(),
                    "--blockdev", "driver=file,node-name=file0,filename=" + image.toAbsolutePath(),
                    "--export", "type=vhost-user-blk,id=export0,node-name=file0,writable=on,num-queues=" + numQueues
                            + ",addr.type=unix,addr.path=" + socket.toAbsolutePath());
            Process process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            ProcessReaper.track(process);
            QemuStorageDaemon daemon = new QemuStorageDaemon(process, socket, log);
            long deadline = System.currentTimeMillis() + START_TIMEOUT_MILLIS;
            while (!Files.exists(socket)) {
                if (!process.isAlive() || System.currentTimeMillis() > deadline) {
                    daemon.close();
                    throw new IllegalStateException("qemu-storage-daemon did not start serving " + socket + ":\n"
                            + Text.tail(daemon.log(), 20));
                }
                Thread.sleep(20);
            }
            return daemon;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start qemu-storage-daemon", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting qemu-storage-daemon", e);
        }
    }

    public Path socket() {
        return socket;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The daemon's output so far. */
    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(cannot read " + log + ")";
        }
    }

    @Override
    public void close() {
        ProcessReaper.destroyTree(process);
        try {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(log);
        } catch (IOException e) {
            // a leftover temporary file is not worth failing a test over
        }
    }
}
