package io.ustor.env.net;

import io.ustor.env.Errno;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TcpSocketsTest {
    private static int acceptBlocking(int listenFd) throws InterruptedException {
        for (int i = 0; i < 5000; i++) {
            int fd = TcpSockets.acceptRaw(listenFd);
            if (fd >= 0) {
                return fd;
            }
            assertEquals(-Errno.EAGAIN, fd);
            Thread.sleep(1);
        }
        throw new AssertionError("no connection arrived");
    }

    @Test
    void listenAcceptExchangeBytesAndAddresses() throws Exception {
        int lfd = TcpSockets.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        try (Arena arena = Arena.ofConfined(); Epoll epoll = Epoll.create(8)) {
            InetSocketAddress bound = TcpSockets.localAddress(lfd);
            assertNotEquals(0, bound.getPort());
            assertEquals(-Errno.EAGAIN, TcpSockets.acceptRaw(lfd), "nothing pending yet");
            int client = TcpSockets.connect(bound);
            int server = acceptBlocking(lfd);
            TcpSockets.setNoDelay(server, true);
            assertEquals(1, TcpSockets.getIntOption(server, TcpSockets.IPPROTO_TCP, TcpSockets.TCP_NODELAY));
            assertEquals(bound, TcpSockets.localAddress(server));
            assertEquals(TcpSockets.localAddress(client), TcpSockets.peerAddress(server));

            MemorySegment buf = arena.allocate(64);
            assertEquals(-Errno.EAGAIN, TcpSockets.recvRaw(server, buf, 0, 64), "empty socket");
            epoll.add(server, Epoll.EPOLLIN, 42L);
            assertEquals(0, epoll.waitRaw(0));

            // Gathering send of two pieces, scattering receive into two pieces.
            MemorySegment a = arena.allocateFrom("hello ");
            MemorySegment b = arena.allocateFrom("world");
            IoVecArray out = new IoVecArray(arena, 4);
            out.add(a, 0, 6);
            out.add(b, 0, 5);
            assertEquals(11, out.totalBytes());
            assertEquals(11, TcpSockets.sendvRaw(client, out));

            assertEquals(1, epoll.waitRaw(1000));
            assertEquals(42L, epoll.token(0));
            assertTrue((epoll.events(0) & Epoll.EPOLLIN) != 0);

            MemorySegment h = arena.allocate(4), t = arena.allocate(16);
            IoVecArray in = new IoVecArray(arena, 2);
            in.add(h, 0, 4);
            in.add(t, 0, 16);
            assertEquals(11, TcpSockets.recvvRaw(server, in));
            assertEquals("hell", new String(h.toArray(JAVA_BYTE)));
            assertEquals("o world", new String(t.asSlice(0, 7).toArray(JAVA_BYTE)));

            // Plain send/recv with offsets.
            buf.set(JAVA_BYTE, 10, (byte) 7);
            assertEquals(1, TcpSockets.sendRaw(server, buf, 10, 1));
            while (TcpSockets.recvRaw(client, buf, 20, 1) == -Errno.EAGAIN) {
                Thread.onSpinWait();
            }
            assertEquals(7, buf.get(JAVA_BYTE, 20));

            // Peer closes: recv returns 0, and sends eventually fail with EPIPE/ECONNRESET, not a signal.
            TcpSockets.closeRaw(client);
            long n;
            while ((n = TcpSockets.recvRaw(server, buf, 0, 64)) == -Errno.EAGAIN) {
                Thread.onSpinWait();
            }
            assertEquals(0, n);
            long rc = 0;
            for (int i = 0; i < 100 && rc >= 0; i++) {
                rc = TcpSockets.sendRaw(server, buf, 0, 64);
                Thread.sleep(1);
            }
            assertTrue(rc == -Errno.EPIPE || rc == -Errno.ECONNRESET, "send to a closed peer: " + rc);
            assertEquals(0, epoll.removeRaw(server));
            TcpSockets.closeRaw(server);
        } finally {
            TcpSockets.closeRaw(lfd);
        }
    }

    @Test
    void consumeAdvancesPastPartialSends() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(10), b = arena.allocate(20);
            IoVecArray v = new IoVecArray(arena, 3);
            v.add(a, 0, 10);
            v.add(b, 5, 15);
            v.consume(4);
            assertEquals(21, v.totalBytes());
            assertEquals(2, v.count());
            v.consume(6);
            assertEquals(1, v.count());
            assertEquals(15, v.totalBytes());
            v.consume(15);
            assertEquals(0, v.count());
        }
    }

    @Test
    void rawCallsAllocateNothingWhenWarm() throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int lfd = TcpSockets.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        try (Arena arena = Arena.ofConfined(); Epoll epoll = Epoll.create(4)) {
            int client = TcpSockets.connect(TcpSockets.localAddress(lfd));
            int server = acceptBlocking(lfd);
            epoll.add(server, Epoll.EPOLLIN, 1);
            MemorySegment buf = arena.allocate(256);
            IoVecArray v = new IoVecArray(arena, 2);
            long bytes = -1;
            for (int batch = 0; batch < 50 && bytes != 0; batch++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 5000; i++) {
                    v.clear();
                    v.add(buf, 0, 16);
                    v.add(buf, 16, 16);
                    TcpSockets.sendvRaw(client, v);
                    epoll.waitRaw(0);
                    TcpSockets.recvRaw(server, buf, 64, 32);
                    TcpSockets.setIntOptionRaw(server, TcpSockets.IPPROTO_TCP, TcpSockets.TCP_NODELAY, 1);
                }
                bytes = threads.getCurrentThreadAllocatedBytes() - before;
            }
            assertEquals(0, bytes, "socket hot path allocated " + bytes + " bytes per 5000 rounds");
            TcpSockets.closeRaw(client);
            TcpSockets.closeRaw(server);
        } finally {
            TcpSockets.closeRaw(lfd);
        }
    }
}
