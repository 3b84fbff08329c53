package io.ustor.testbed.internal;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Makes sure no QEMU (or other helper process) outlives the test JVM: every process the test bed starts is
 * tracked here until it has ended, and a shutdown hook kills whatever is still running, children first.
 * (Should the JVM be killed outright, the {@code timeout} wrapper around each process ends it at its deadline.)
 */
public final class ProcessReaper {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final Set<Path> TEMP_DIRS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ProcessReaper::reapAll, "ustor-testbed-reaper"));
    }

    private ProcessReaper() {
    }

    public static void track(Process process) {
        LIVE.add(process);
    }

    public static void untrack(Process process) {
        LIVE.remove(process);
    }

    /** A folder to delete at JVM exit if nobody deleted it before. */
    public static void deleteOnExit(Path dir) {
        TEMP_DIRS.add(dir);
    }

    /** Kills the process and all its descendants (children first, so none is re-parented and lost), then waits. */
    public static void destroyTree(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        for (ProcessHandle child : descendants.reversed()) {
            child.destroyForcibly();
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(process);
    }

    public static void deleteRecursively(Path dir) {
        TEMP_DIRS.remove(dir);
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("ustor-testbed: could not delete " + dir + ": " + e);
        }
    }

    private static void reapAll() {
        for (Process process : List.copyOf(LIVE)) {
            if (process.isAlive()) {
                System.err.println("ustor-testbed: killing leftover process " + process.pid() + " at JVM exit");
            }
            destroyTree(process);
        }
        for (Path dir : List.copyOf(TEMP_DIRS)) {
            deleteRecursively(dir);
        }
    }
}
