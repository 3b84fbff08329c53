package io.ustor.vhost;

import java.nio.file.Path;

/**
 * Where vhost-user controller sockets are created (SPDK's {@code -S} option). The daemon puts one in the
 * {@link io.ustor.rpc.SubsystemContext}; without it the system property {@code ustor.vhost.socket_dir}, then the
 * working directory (SPDK's default) is used.
 */
public record VhostSocketDirectory(Path path) {
    public static final String PROPERTY = "ustor.vhost.socket_dir";

    static VhostSocketDirectory fallback() {
        String p = System.getProperty(PROPERTY);
        return new VhostSocketDirectory(Path.of(p != null ? p : "").toAbsolutePath());
    }
}
