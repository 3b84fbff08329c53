package io.ustor.testbed.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The image recipe (testbed/scripts) ships in the jar; this writes it to a temporary folder once per JVM, so the
 * runner works the same from the module's own build and from another module's test class path.
 */
public final class RecipeScripts {
    private static final String BASE = "/io/ustor/testbed/scripts/";
    private static final List<String> FILES = List.of(
            "ensure-image.sh", "qemu-guard.sh",
            "image/build-image.sh", "image/initramfs-init", "image/guest-init");
    private static Path extracted;

    private RecipeScripts() {
    }

    /** The recipe's files, relative to testbed/scripts (a file added there must be listed here). */
    public static List<String> files() {
        return FILES;
    }

    /** The folder holding the extracted scripts (same names and layout as testbed/scripts). */
    public static synchronized Path directory() {
        if (extracted == null) {
            try {
                Path dir = Files.createTempDirectory("ustor-testbed-scripts-");
                ProcessReaper.deleteOnExit(dir);
                for (String name : FILES) {
                    Path target = dir.resolve(name);
                    Files.createDirectories(target.getParent());
                    try (InputStream in = RecipeScripts.class.getResourceAsStream(BASE + name)) {
                        if (in == null) {
                            throw new IllegalStateException("test bed resource " + BASE + name + " is missing from the class path");
                        }
                        Files.copy(in, target);
                    }
                    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
                extracted = dir;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the test bed scripts", e);
            }
        }
        return extracted;
    }
}
