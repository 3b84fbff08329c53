package io.ustor.iscsi;

/** One listening address of a portal group: host (IP literal or name; "0.0.0.0" for all) and TCP port. */
public record Portal(String host, int port) {
    public Portal {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port);
        }
    }

    /** "host:port", with brackets around an IPv6 host. */
    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
