package io.ustor.vhost;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.vhost.client.VirtqueueDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.Writer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Reconnect with inflight tracking (PROTOCOL_F_INFLIGHT_SHMFD): the server runs in its own JVM and is killed
 * (SIGKILL) while it holds requests it took from the ring; ustor's client sees the socket hang up, reconnects to
 * the restarted server and hands it the same memory, inflight buffer and rings; the new server resubmits what its
 * predecessor left in flight. Every request completes exactly once, with the right data, and the writes the dead
 * server never performed are on the disk afterwards.
 */
class VhostReconnectTest {
    private static final int BLOCK = 4096, BLOCKS = 2048;
    private static final int WRITES = 64, READS = 32;
    private static final long READ_BASE = 1000;

    @TempDir
    Path dir;
    Path disk;
    ReactorGroup group;
    BdevRegistry bdevs;
    Arena arena;
    Server server;

    /** The server JVM, with its stdout lines. */
    private final class Server implements AutoCloseable {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final List<String> err = new CopyOnWriteArrayList<>();
        final Writer stdin;

        Server(boolean packed) throws IOException {
            process = new ProcessBuilder(VhostServerProcess.command(dir.toString(), disk.toString(),
                    Integer.toString(BLOCKS), Integer.toString(BLOCK), packed ? "packed" : "split")).start();
            stdin = process.outputWriter(StandardCharsets.UTF_8);
            pump(process.inputReader(StandardCharsets.UTF_8), lines);
            pump(process.errorReader(StandardCharsets.UTF_8), err);
        }

        private static void pump(BufferedReader r, List<String> into) {
            Thread.ofPlatform().daemon().start(() -> {
                try (r) {
                    for (String l; (l = r.readLine()) != null; ) {
                        into.add(l);
                    }
                } catch (IOException ignored) {
                    // gone
                }
            });
        }

        void await(String line) throws InterruptedException {
            for (int i = 0; i < 1200 && !lines.contains(line); i++) { // a cap for a loaded machine
                assertTrue(process.isAlive() || lines.contains(line), "server exited: " + lines + "\n" + String.join("\n", err));
                Thread.sleep(50);
            }
            assertTrue(lines.contains(line), "no '" + line + "' from the server: " + lines + "\n" + String.join("\n", err));
        }

        void tell(String command) throws IOException {
            stdin.write(command + "\n");
            stdin.flush();
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL: no cleanup, requests stay where they were
            assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    @BeforeEach
    void start() throws IOException {
        disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength((long) BLOCKS * BLOCK);
        }
        group = ReactorGroup.start(CoreMask.parse("0x1"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        try {
            bdevs.unregisterAll().get(30, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the server may be gone
        }
        group.close();
        arena.close();
        if (server != null) {
            server.close();
        }
    }

    private MemorySegment pattern(long seed) {
        MemorySegment s = arena.allocate(BLOCK, BLOCK);
        byte[] b = new byte[BLOCK];
        new Random(seed).nextBytes(b);
        MemorySegment.copy(b, 0, s, JAVA_BYTE, 0, BLOCK);
        return s;
    }

    private byte[] onDisk(long block) throws IOException {
        byte[] b = new byte[BLOCK];
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r")) {
            f.seek(block * BLOCK);
            f.readFully(b);
        }
        return b;
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void requestsHeldByAKilledServerCompleteOnceAfterTheRestartedServerResubmitsThem(boolean packed) throws Exception {
        server = new Server(packed);
        server.await("ready");
        VirtioUserBlkBdev virtio = VirtioUserBlkBdev.attach("Virtio0", dir.resolve("vhost.0"), 1, 128);
        virtio.client().enableReconnect(50);
        bdevs.register(virtio);
        assertEquals(packed, virtio.client().packed());
        VirtqueueDriver queue = virtio.client().ring(0);
        Reactor r = group.reactor(0);
        BdevDesc d = bdevs.open("Virtio0", true, (t, x) -> { });
        int issued = 0;

        // Region B holds known data, written while the server serves normally.
        MemorySegment[] bData = new MemorySegment[READS];
        for (int i = 0; i < READS; i++) {
            bData[i] = pattern(1000 + i);
            assertEquals(0, BlkHarness.write(r, d, bData[i], READ_BASE + i, 1));
            issued++;
        }

        // The server parks everything from now on; 64 writes to region A and 32 reads of B go out together.
        server.tell("hold " + (WRITES + READS));
        server.await("hold set");
        MemorySegment[] aData = new MemorySegment[WRITES];
        MemorySegment[] bBack = new MemorySegment[READS];
        for (int i = 0; i < WRITES; i++) {
            aData[i] = pattern(i);
        }
        for (int i = 0; i < READS; i++) {
            bBack[i] = arena.allocate(BLOCK, BLOCK);
        }
        int total = WRITES + READS;
        AtomicIntegerArray completions = new AtomicIntegerArray(total);
        AtomicInteger failures = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        CompletableFuture<Void> all = new CompletableFuture<>();
        BdevIoCallback cb = (io, ok, arg) -> {
            completions.incrementAndGet((Integer) arg);
            if (!ok) {
                failures.incrementAndGet();
            }
            if (done.incrementAndGet() == total) {
                all.complete(null);
            }
        };
        BdevChannel[] channel = new BdevChannel[1];
        int rc = r.call(() -> {
            BdevChannel ch = d.getIoChannel();
            channel[0] = ch;
            for (int i = 0; i < WRITES; i++) {
                int x = d.write(ch, aData[i], i, 1, cb, i);
                if (x != 0) {
                    return x;
                }
            }
            for (int i = 0; i < READS; i++) {
                int x = d.read(ch, bBack[i], READ_BASE + i, 1, cb, WRITES + i);
                if (x != 0) {
                    return x;
                }
            }
            return 0;
        }).get(30, TimeUnit.SECONDS);
        assertEquals(0, rc);
        issued += total;
        try {
            server.await("holding " + total);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nclient: " + done.get() + " completed, " + failures.get()
                    + " failed; ring base 0x" + Integer.toHexString(queue.vringBase()), e);
        }
        assertEquals(0, done.get(), "the server holds every request: none completed");

        server.kill();
        for (int i = 0; i < WRITES; i++) {
            assertArrayEquals(new byte[BLOCK], onDisk(i), "the killed server never performed write " + i);
        }
        assertEquals(0, done.get());

        server = new Server(packed); // same socket, same disk: the client reconnects on its own
        server.await("ready");
        all.get(120, TimeUnit.SECONDS);
        server.await("resubmitted " + total);
        assertEquals(0, failures.get());
        for (int i = 0; i < total; i++) {
            assertEquals(1, completions.get(i), "request " + i + " completed once");
        }
        for (int i = 0; i < READS; i++) {
            assertEquals(-1, bData[i].mismatch(bBack[i]), "read " + i + " returned region B's data");
        }
        for (int i = 0; i < WRITES; i++) {
            assertArrayEquals(aData[i].toArray(JAVA_BYTE), onDisk(i), "write " + i + " is on the disk");
        }
        assertEquals(1, virtio.client().reconnects());

        // No used entry beyond the requests made: nothing was completed twice behind the callbacks' back.
        MemorySegment one = arena.allocate(BLOCK, BLOCK);
        assertEquals(0, BlkHarness.read(r, d, one, 5, 1));
        issued++;
        assertEquals(-1, aData[5].mismatch(one), "served by the new server after the reconnect");
        if (packed) {
            // Driver positions: every descriptor made available came back used, none twice.
            int base = r.call(queue::vringBase).get(10, TimeUnit.SECONDS);
            assertEquals(base & 0xffff, base >>> 16, "available and used positions meet");
            assertEquals(0, (int) r.call(queue::outstanding).get(10, TimeUnit.SECONDS));
        } else {
            int used = r.call(() -> virtio.client().queue(0).usedIndex()).get(10, TimeUnit.SECONDS);
            int avail = r.call(() -> virtio.client().queue(0).availIndex()).get(10, TimeUnit.SECONDS);
            assertEquals(issued & 0xffff, avail);
            assertEquals(avail, used, "one used entry per request");
        }

        // A server killed while idle: the client reconnects again and I/O goes on.
        server.kill();
        server = new Server(packed);
        server.await("ready");
        for (int i = 0; i < 600 && virtio.client().reconnects() < 2; i++) {
            Thread.sleep(50);
        }
        assertEquals(2, virtio.client().reconnects());
        MemorySegment more = pattern(77);
        assertEquals(0, BlkHarness.write(r, d, more, 100, 1));
        assertArrayEquals(more.toArray(JAVA_BYTE), onDisk(100));
        assertFalse(server.lines.stream().anyMatch(l -> l.startsWith("resubmitted")), "nothing was in flight");

        r.call(() -> {
            d.putIoChannel(channel[0]);
            return null;
        }).get(10, TimeUnit.SECONDS);
        d.close();
    }
}
