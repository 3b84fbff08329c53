package io.ustor.testbed.internal;

import io.ustor.testbed.GuestUnavailableException;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Finds the host programs the test bed runs, and says what to install when one is missing. */
public final class HostTools {
    /** The Debian packages that give the test bed everything it runs on the host. */
    public static final String INSTALL_HINT =
            "apt-get install -y qemu-system-x86 qemu-utils mmdebstrap e2fsprogs cpio xz-utils (as root; .ci/run does it)";

    private HostTools() {
    }

    /** The program's path on PATH, if it is there and executable. */
    public static Optional<Path> find(String program) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(List.of((path == null ? "" : path).split(File.pathSeparator)));
        // root's tools are not always on a test JVM's PATH
        dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String dir : dirs) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** The program's path; throws {@link GuestUnavailableException} naming the packages to install when missing. */
    public static Path require(String program) {
        return find(program).orElseThrow(() -> new GuestUnavailableException(
                "The test guest needs " + program + " on this host, and it is not installed: " + INSTALL_HINT));
    }
}
