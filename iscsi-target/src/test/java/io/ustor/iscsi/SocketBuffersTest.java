package io.ustor.iscsi;

import io.ustor.env.net.SocketBuffers;
import io.ustor.env.net.TcpSockets;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The socket buffer sizes the daemon's sock_impl_set_options sets reach the sockets the target accepts from then on;
 * before, the kernel's sizes stay. Read on the target's own accepted socket (found among this process's fds).
 */
class SocketBuffersTest {
    @Test
    void acceptedSocketsGetTheConfiguredSizes() throws Exception {
        try (TestTarget t = new TestTarget()) {
            int[] before;
            try (Socket s = new Socket("127.0.0.1", t.address.getPort())) {
                before = serverSideBuffers(s);
            }
            SocketBuffers b = new SocketBuffers();
            b.set(40_000, 30_000);
            t.target.useSocketBuffers(b);
            try (Socket s = new Socket("127.0.0.1", t.address.getPort())) {
                int[] after = serverSideBuffers(s);
                // Linux doubles what SO_RCVBUF/SO_SNDBUF ask for (room for its bookkeeping).
                assertEquals(80_000, after[0]);
                assertEquals(60_000, after[1]);
            }
            assertNotEquals(80_000, before[0], "the kernel's size without settings");
        }
    }

    /** SO_RCVBUF and SO_SNDBUF of the target's end of {@code client}'s connection. */
    private static int[] serverSideBuffers(Socket client) throws Exception {
        InetSocketAddress peer = (InetSocketAddress) client.getLocalSocketAddress();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                for (Path p : fds.toList()) {
                    int fd;
                    try {
                        fd = Integer.parseInt(p.getFileName().toString());
                        if (!Files.readSymbolicLink(p).toString().startsWith("socket:")) {
                            continue;
                        }
                        InetSocketAddress remote = TcpSockets.peerAddress(fd);
                        if (remote == null || remote.getPort() != peer.getPort()) {
                            continue;
                        }
                    } catch (RuntimeException | java.io.IOException notOurs) {
                        continue;
                    }
                    return new int[]{TcpSockets.getIntOption(fd, TcpSockets.SOL_SOCKET, TcpSockets.SO_RCVBUF),
                            TcpSockets.getIntOption(fd, TcpSockets.SOL_SOCKET, TcpSockets.SO_SNDBUF)};
                }
            }
            Thread.sleep(20); // the reactor adopts the connection a moment after connect returns
        }
        throw new AssertionError("no accepted socket for " + peer);
    }
}
