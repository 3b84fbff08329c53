package io.ustor.testbed.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Where the things the guest shares live on the host: the project, the running JDK, the Maven repository. */
public final class HostLayout {
    /** System property or environment variable (USTOR_PROJECT_ROOT) that names the project root explicitly. */
    public static final String PROJECT_ROOT_PROPERTY = "ustor.project.root";

    private HostLayout() {
    }

    /**
     * The root of the project being built: the highest folder with a pom.xml in an unbroken chain of pom.xml
     * folders above the working directory (a test's working directory is its module's folder).
     */
    public static Path projectRoot() {
        String explicit = System.getProperty(PROJECT_ROOT_PROPERTY, System.getenv("USTOR_PROJECT_ROOT"));
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit).toAbsolutePath().normalize();
        }
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath().normalize();
        Path root = dir;
        while (dir != null && Files.isRegularFile(dir.resolve("pom.xml"))) {
            root = dir;
            dir = dir.getParent();
        }
        return root;
    }

    /** The JDK this JVM runs on (the build's JDK 25). */
    public static Path jdkHome() {
        return Path.of(System.getProperty("java.home")).toAbsolutePath().normalize();
    }

    /** Maven's local repository, where the test class path's jars come from, if there is one. */
    public static Optional<Path> mavenRepository() {
        String configured = System.getProperty("maven.repo.local");
        Path repo = configured != null && !configured.isBlank()
                ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".m2", "repository");
        return Files.isDirectory(repo) ? Optional.of(repo.toAbsolutePath().normalize()) : Optional.empty();
    }
}
