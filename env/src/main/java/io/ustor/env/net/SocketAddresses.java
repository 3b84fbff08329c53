package io.ustor.env.net;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** Converts between {@link InetSocketAddress} and the kernel's sockaddr_in / sockaddr_in6 (control plane). */
final class SocketAddresses {
    static final short AF_INET = 2, AF_INET6 = 10;
    /** sizeof(struct sockaddr_storage). */
    static final int STORAGE_SIZE = 128;
    static final int SOCKADDR_IN_SIZE = 16, SOCKADDR_IN6_SIZE = 28;

    private SocketAddresses() {
    }

    /** Writes {@code address} into {@code sa} (at least 28 bytes); returns the sockaddr length. */
    static int write(InetSocketAddress address, MemorySegment sa) {
        InetAddress ip = address.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("unresolved address " + address);
        }
        sa.fill((byte) 0);
        int port = address.getPort();
        if (ip instanceof Inet4Address) {
            sa.set(JAVA_SHORT, 0, AF_INET);
            sa.set(JAVA_BYTE, 2, (byte) (port >>> 8));
            sa.set(JAVA_BYTE, 3, (byte) port);
            MemorySegment.copy(ip.getAddress(), 0, sa, JAVA_BYTE, 4, 4);
            return SOCKADDR_IN_SIZE;
        }
        Inet6Address ip6 = (Inet6Address) ip;
        sa.set(JAVA_SHORT, 0, AF_INET6);
        sa.set(JAVA_BYTE, 2, (byte) (port >>> 8));
        sa.set(JAVA_BYTE, 3, (byte) port);
        MemorySegment.copy(ip6.getAddress(), 0, sa, JAVA_BYTE, 8, 16);
        sa.set(JAVA_INT, 24, ip6.getScopeId());
        return SOCKADDR_IN6_SIZE;
    }

    /** Reads a sockaddr_in / sockaddr_in6 written by the kernel. */
    static InetSocketAddress read(MemorySegment sa) {
        short family = sa.get(JAVA_SHORT, 0);
        int port = ((sa.get(JAVA_BYTE, 2) & 0xff) << 8) | (sa.get(JAVA_BYTE, 3) & 0xff);
        try {
            if (family == AF_INET) {
                byte[] a = new byte[4];
                MemorySegment.copy(sa, JAVA_BYTE, 4, a, 0, 4);
                return new InetSocketAddress(InetAddress.getByAddress(a), port);
            }
            if (family == AF_INET6) {
                byte[] a = new byte[16];
                MemorySegment.copy(sa, JAVA_BYTE, 8, a, 0, 16);
                int scope = sa.get(JAVA_INT, 24);
                return new InetSocketAddress(scope != 0 ? Inet6Address.getByAddress(null, a, scope)
                        : InetAddress.getByAddress(a), port);
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalArgumentException("unsupported address family " + family);
    }
}
