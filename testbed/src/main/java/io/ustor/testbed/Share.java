package io.ustor.testbed;

import java.nio.file.Path;

/** A host folder the guest mounts over 9p at {@code guestPath}. */
public record Share(Path hostPath, String guestPath, boolean readOnly) {
    public Share {
        hostPath = hostPath.toAbsolutePath().normalize();
        if (!guestPath.startsWith("/") || guestPath.contains(" ") || guestPath.equals("/")) {
            throw new IllegalArgumentException("guest path must be absolute, without spaces, not /: " + guestPath);
        }
    }

    /** The path a host file under {@link #hostPath()} has in the guest, or null if it is not under it. */
    public String guestPathOf(Path hostFile) {
        Path file = hostFile.toAbsolutePath().normalize();
        if (!file.startsWith(hostPath)) {
            return null;
        }
        Path relative = hostPath.relativize(file);
        return relative.toString().isEmpty() ? guestPath : guestPath + "/" + relative;
    }
}
