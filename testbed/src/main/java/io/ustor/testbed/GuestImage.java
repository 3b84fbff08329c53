package io.ustor.testbed;

import io.ustor.testbed.internal.HostTools;
import io.ustor.testbed.internal.ProcessReaper;
import io.ustor.testbed.internal.RecipeScripts;
import io.ustor.testbed.internal.Text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The test guest's boot files: an uncompressed kernel, a tiny initramfs and an ext4 root image (Debian 12).
 * {@link #ensure()} builds them once per recipe (testbed/scripts/image, hashed) into a cache outside the repository
 * ({@code $USTOR_TESTBED_CACHE}, default {@code ~/.cache/ustor-testbed/guest-<hash>}) and reuses them after that;
 * concurrent JVMs wait on a lock file while one builds. Building needs root and mmdebstrap.
 */
public final class GuestImage {
    /** Points at a ready image folder instead of building one (a folder with vmlinux, initrd.img, root.img). */
    public static final String IMAGE_ENV = "USTOR_TESTBED_IMAGE";
    private static final System.Logger LOG = System.getLogger(GuestImage.class.getName());
    private static final long BUILD_TIMEOUT_MINUTES = 45;
    private static GuestImage cached;

    private final Path directory;

    private GuestImage(Path directory) {
        this.directory = directory;
    }

    /** An image that already exists in {@code directory}. */
    public static GuestImage at(Path directory) {
        GuestImage image = new GuestImage(directory);
        for (Path file : List.of(image.kernel(), image.initrd(), image.rootDisk())) {
            if (!Files.isRegularFile(file)) {
                throw new GuestUnavailableException("not a test guest image folder, " + file + " is missing");
            }
        }
        return image;
    }

    /**
     * The image for the current recipe, built first if the cache has none (about a minute, longer on a cold
     * package cache). Throws {@link GuestUnavailableException} with what to install or the build log's tail.
     */
    public static synchronized GuestImage ensure() {
        if (cached != null) {
            return cached;
        }
        String preset = System.getenv(IMAGE_ENV);
        if (preset != null && !preset.isBlank()) {
            cached = at(Path.of(preset));
            return cached;
        }
        HostTools.require("qemu-system-x86_64");
        Path script = RecipeScripts.directory().resolve("ensure-image.sh");
        Path log = null;
        try {
            log = Files.createTempFile("ustor-testbed-image-", ".log");
            Path stdoutFile = Files.createTempFile("ustor-testbed-image-", ".out");
            Process process = new ProcessBuilder("bash", script.toString())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(stdoutFile.toFile())
                    .redirectError(log.toFile())
                    .start();
            ProcessReaper.track(process);
            long start = System.nanoTime();
            try {
                if (!process.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                    throw new GuestUnavailableException("the guest image build did not finish in "
                            + BUILD_TIMEOUT_MINUTES + " minutes; log: " + log);
                }
            } finally {
                ProcessReaper.destroyTree(process);
            }
            // the script prints one line, the folder, when it is done; its build log (if it built) is on stderr
            String stdout = Files.readString(stdoutFile, StandardCharsets.UTF_8).strip();
            Files.deleteIfExists(stdoutFile);
            String buildLog = Files.readString(log);
            if (!buildLog.isBlank()) {
                System.err.print(buildLog);
            }
            if (process.exitValue() != 0 || stdout.isEmpty()) {
                throw new GuestUnavailableException("the guest image could not be built (ensure-image.sh exit "
                        + process.exitValue() + "). " + missingToolsHint(buildLog) + "Log:\n" + Text.tail(buildLog, 40));
            }
            Files.deleteIfExists(log);
            cached = at(Path.of(stdout.lines().reduce((a, b) -> b).orElseThrow()));
            long millis = (System.nanoTime() - start) / 1_000_000;
            LOG.log(System.Logger.Level.INFO, () -> "testbed: image " + cached.directory() + " ready after " + millis + " ms");
            return cached;
        } catch (IOException e) {
            throw new GuestUnavailableException("cannot run " + script + " (log " + log + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestUnavailableException("interrupted while building the guest image", e);
        }
    }

    public Path directory() {
        return directory;
    }

    /** Uncompressed kernel, booted by QEMU through PVH. */
    public Path kernel() {
        return directory.resolve("vmlinux");
    }

    public Path initrd() {
        return directory.resolve("initrd.img");
    }

    /** ext4 root file system, label guestroot; the runner opens it with snapshot=on and never changes it. */
    public Path rootDisk() {
        return directory.resolve("root.img");
    }

    @Override
    public String toString() {
        return "GuestImage[" + directory + "]";
    }

    private static String missingToolsHint(String log) {
        return log.contains("is missing") || log.contains("needs root") ? "Install: " + HostTools.INSTALL_HINT + ". " : "";
    }
}
