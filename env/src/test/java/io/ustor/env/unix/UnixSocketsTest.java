package io.ustor.env.unix;

import io.ustor.env.EventFd;
import io.ustor.env.MemFd;
import io.ustor.env.Mman;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

class UnixSocketsTest {
    @TempDir
    Path dir;

    @Test
    void passesEventFdsAndMemFdsBetweenConnectedSockets() {
        Path path = dir.resolve("s.sock");
        int listener = UnixSockets.listen(path, 4, true);
        assertEquals(-io.ustor.env.Errno.EAGAIN, UnixSockets.acceptRaw(listener, false), "nothing pending yet");
        int client = UnixSockets.connect(path);
        int server = UnixSockets.acceptRaw(listener, false);
        assertTrue(server >= 0);
        EventFd e1 = EventFd.create(true), e2 = EventFd.create(true);
        int mem = MemFd.create("unix-test", 1 << 20, MemFd.MFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(64, 8);
            buf.set(JAVA_INT, 0, 0x1234);
            FdMessenger tx = new FdMessenger(client), rx = new FdMessenger(server);
            assertEquals(12, tx.send(buf, 0, 12, new int[]{e1.fd(), mem, e2.fd()}, 3, false));
            MemorySegment in = arena.allocate(64, 8);
            assertEquals(12, rx.receive(in, 0, 64, false));
            assertEquals(0x1234, in.get(JAVA_INT, 0));
            assertEquals(3, rx.receivedFdCount());
            assertFalse(rx.fdsTruncated());
            int gotE1 = rx.receivedFd(0), gotMem = rx.receivedFd(1), gotE2 = rx.receivedFd(2);
            assertNotEquals(e1.fd(), gotE1, "a new descriptor number for the same eventfd");

            // The received eventfd is the same counter: a write through it wakes the original.
            MemorySegment one = arena.allocate(8, 8);
            one.set(JAVA_LONG, 0, 5);
            assertEquals(8, Posix.write(gotE2, one, 8));
            assertEquals(5, e2.drain());
            assertEquals(0, e1.drain());

            // The received memfd maps the same pages.
            MemorySegment a = Mman.mmap(MemorySegment.NULL, 1 << 20, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, mem, 0);
            MemorySegment b = Mman.mmap(MemorySegment.NULL, 1 << 20, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, gotMem, 0);
            a.set(JAVA_LONG, 4096, 0xfeedL);
            assertEquals(0xfeedL, b.get(JAVA_LONG, 4096));
            Mman.munmap(a);
            Mman.munmap(b);
            rx.closeReceivedFds();

            // A message without descriptors, and end of stream.
            assertEquals(4, tx.send(buf, 0, 4, null, 0, false));
            assertEquals(4, rx.receive(in, 0, 64, false));
            assertEquals(0, rx.receivedFdCount());
            assertEquals(-io.ustor.env.Errno.EAGAIN, rx.receive(in, 0, 64, true));
            UnixSockets.shutdownRaw(client, UnixSockets.SHUT_RDWR);
            assertEquals(0, rx.receive(in, 0, 64, false));
        } finally {
            e1.close();
            e2.close();
            Posix.closeRaw(mem);
            Posix.closeRaw(client);
            Posix.closeRaw(server);
            Posix.closeRaw(listener);
        }
    }

    @Test
    void socketPairAndPoll() {
        int[] p = UnixSockets.pair();
        try (Arena arena = Arena.ofConfined()) {
            PollSet set = new PollSet(2);
            set.set(0, p[0], PollSet.POLLIN);
            set.set(1, -1, (short) 0);
            assertEquals(0, set.poll(0));
            MemorySegment buf = arena.allocate(8, 8);
            FdMessenger m = new FdMessenger(p[1]);
            assertEquals(8, m.send(buf, 0, 8, null, 0, false));
            assertEquals(1, set.poll(1000));
            assertTrue((set.revents(0) & PollSet.POLLIN) != 0);
        } finally {
            Posix.closeRaw(p[0]);
            Posix.closeRaw(p[1]);
        }
    }

    @Test
    void replacesAStaleSocketFileButNotARegularFile() throws Exception {
        Path path = dir.resolve("stale.sock");
        int first = UnixSockets.listen(path, 1, true);
        Posix.closeRaw(first); // leaves the socket file behind, as a crashed daemon would
        int second = UnixSockets.listen(path, 1, true);
        Posix.closeRaw(second);
        Path regular = dir.resolve("file");
        Files.writeString(regular, "x");
        assertThrows(NativeException.class, () -> UnixSockets.listen(regular, 1, true));
        assertThrows(NativeException.class, () -> UnixSockets.connect(dir.resolve("none.sock")));
    }
}
