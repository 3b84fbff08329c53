package io.ustor.vhost;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import io.ustor.vhost.client.DriverQueue;
import io.ustor.vhost.client.PackedDriverQueue;
import io.ustor.vhost.client.SharedMemory;
import io.ustor.vhost.client.VhostUserClient;
import io.ustor.vhost.protocol.VhostUserRequest;
import io.ustor.vhost.virtio.Virtio;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A hostile driver: bad descriptor chains written straight into the client's ring memory, a lying available
 * index, and malformed protocol messages. The server fails just those requests (or that queue, or that
 * connection), never touches memory it was not given, and another controller keeps serving throughout.
 */
class HostileDriverTest {
    private static final int QSIZE = 16;
    @TempDir
    Path dir;
    ReactorGroup group;
    BdevRegistry bdevs;
    VhostBlkController hostile, hostilePacked, good;
    Arena arena;

    @BeforeEach
    void start() {
        group = ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        bdevs.register(MallocBdev.create("MallocHostile", 2048, 512, null));
        bdevs.register(MallocBdev.create("MallocGood", 2048, 512, null));
        hostile = VhostBlkController.create(VhostBlkOptions.of("hostile", dir, "MallocHostile").withMaxQueues(1), bdevs);
        good = VhostBlkController.create(VhostBlkOptions.of("good", dir, "MallocGood").withMaxQueues(2), bdevs);
        hostilePacked = VhostBlkController.create(VhostBlkOptions.of("hostile-packed", dir, "MallocHostile")
                .withMaxQueues(1).withPackedRing(true), bdevs);
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        hostile.close();
        hostilePacked.close();
        good.close();
        bdevs.unregisterAll().join();
        group.close();
        arena.close();
    }

    /** Waits until the device published {@code idx} used entries. */
    private static void awaitUsed(DriverQueue q, int idx) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (q.usedIndex() != idx) {
            assertTrue(System.nanoTime() < deadline, "used index stuck at " + q.usedIndex() + ", expected " + idx);
            Thread.sleep(1);
        }
    }

    private static void header(MemorySegment mem, long off, int type, long sector) {
        mem.set(JAVA_INT, off, type);
        mem.set(JAVA_INT, off + 4, 0);
        mem.set(JAVA_LONG, off + 8, sector);
    }

    /** The good controller still serves data, checked end to end. */
    private void goodControllerServes(long seed) throws Exception {
        VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioGood", good.options().socketPath(), 2, 32);
        bdevs.register(v);
        BdevDesc d = bdevs.open("VirtioGood", true, (t, x) -> { });
        try {
            MemorySegment data = arena.allocate(8192, 4096);
            byte[] b = new byte[8192];
            new Random(seed).nextBytes(b);
            MemorySegment.copy(b, 0, data, JAVA_BYTE, 0, b.length);
            assertEquals(0, BlkHarness.write(group.reactor(0), d, data, 16, 16));
            MemorySegment back = arena.allocate(8192, 4096);
            assertEquals(0, BlkHarness.read(group.reactor(1), d, back, 16, 16));
            assertEquals(-1, data.mismatch(back));
        } finally {
            d.close();
            bdevs.unregister("VirtioGood").join();
        }
    }

    @Test
    void badChainsFailAloneAndBrokenRingStopsOnlyItsQueue() throws Exception {
        VhostUserClient c = VhostUserClient.connect(hostile.options().socketPath(), 1, QSIZE, 4096, 0);
        try {
            assertTrue(Virtio.has(c.features(), Virtio.F_INDIRECT_DESC));
            DriverQueue q = c.queue(0);
            SharedMemory sm = c.memory();
            MemorySegment mem = sm.segment();
            long meta = q.slotMetaOffset(0), bounce = q.slotBounceOffset(0);
            long hdr = meta, status = meta + 16, data = bounce;
            mem.asSlice(bounce, 4096).fill((byte) 0x5a);
            mem.set(JAVA_BYTE, status, (byte) 0xff);
            long end = sm.gpa(sm.size());
            int used = 0;

            // 1. A loop: 0 -> 1 -> 0.
            header(mem, hdr, Virtio.BLK_T_IN, 0);
            q.writeDescRaw(0, sm.gpa(hdr), 16, Virtio.DESC_F_NEXT, 1);
            q.writeDescRaw(1, sm.gpa(data), 512, Virtio.DESC_F_WRITE | Virtio.DESC_F_NEXT, 0);
            q.publishRaw(0);
            // 2. A buffer outside guest memory (below the region and straddling its end).
            q.writeDescRaw(2, 0x10, 16, Virtio.DESC_F_NEXT, 3);
            q.writeDescRaw(3, sm.gpa(status), 1, Virtio.DESC_F_WRITE, 0);
            q.publishRaw(2);
            q.writeDescRaw(4, sm.gpa(hdr), 16, Virtio.DESC_F_NEXT, 5);
            q.writeDescRaw(5, end - 16, 0xffffffffL, Virtio.DESC_F_WRITE, 0); // length overflows the region
            q.publishRaw(4);
            // 3. A next index beyond the ring.
            q.writeDescRaw(6, sm.gpa(hdr), 16, Virtio.DESC_F_NEXT, 500);
            q.publishRaw(6);
            // 4. An indirect table whose length is not a whole number of descriptors, and one outside memory.
            q.writeDescRaw(7, sm.gpa(meta + 64), 40, Virtio.DESC_F_INDIRECT, 0);
            q.publishRaw(7);
            q.writeDescRaw(8, end - 32, 64, Virtio.DESC_F_INDIRECT, 0);
            q.publishRaw(8);
            // 5. Readable after writable.
            q.writeDescRaw(9, sm.gpa(data), 512, Virtio.DESC_F_WRITE | Virtio.DESC_F_NEXT, 10);
            q.writeDescRaw(10, sm.gpa(hdr), 16, Virtio.DESC_F_NEXT, 11);
            q.writeDescRaw(11, sm.gpa(status), 1, Virtio.DESC_F_WRITE, 0);
            q.publishRaw(9);
            used += 7;
            awaitUsed(q, used);
            for (int i = 0; i < used; i++) {
                assertEquals(0, q.usedLength(i), "bad chain " + i + " (head " + q.usedId(i) + ") returned with nothing written");
            }
            assertEquals((byte) 0xff, mem.get(JAVA_BYTE, status), "no status written for chains that failed validation");
            for (long i = 0; i < 4096; i++) {
                assertEquals((byte) 0x5a, mem.get(JAVA_BYTE, bounce + i), "data buffer untouched");
            }

            // 6. The same queue still serves good requests: GET_ID, a read beyond the end (IOERR), an unknown type.
            long hdr2 = q.slotMetaOffset(1), st2 = hdr2 + 16;
            header(mem, hdr, Virtio.BLK_T_GET_ID, 0);
            q.writeDescRaw(12, sm.gpa(hdr), 16, Virtio.DESC_F_NEXT, 13);
            q.writeDescRaw(13, sm.gpa(data), 20, Virtio.DESC_F_WRITE | Virtio.DESC_F_NEXT, 14);
            q.writeDescRaw(14, sm.gpa(status), 1, Virtio.DESC_F_WRITE, 0);
            q.publishRaw(12);
            used++;
            awaitUsed(q, used);
            assertEquals(Virtio.BLK_S_OK, mem.get(JAVA_BYTE, status));
            assertEquals(Virtio.BLK_ID_BYTES + 1, q.usedLength(used - 1), "20 serial bytes + status");
            byte[] serial = new byte[Virtio.BLK_ID_BYTES];
            MemorySegment.copy(mem, JAVA_BYTE, data, serial, 0, serial.length);
            assertEquals("MallocHostile", new String(serial, StandardCharsets.US_ASCII).replace("\0", ""));
            assertEquals(0, serial[13], "NUL-padded");

            header(mem, hdr2, Virtio.BLK_T_IN, 2048); // the first sector past the end
            q.writeDescRaw(12, sm.gpa(hdr2), 16, Virtio.DESC_F_NEXT, 13);
            q.writeDescRaw(13, sm.gpa(data), 512, Virtio.DESC_F_WRITE | Virtio.DESC_F_NEXT, 14);
            q.writeDescRaw(14, sm.gpa(st2), 1, Virtio.DESC_F_WRITE, 0);
            q.publishRaw(12);
            used++;
            awaitUsed(q, used);
            assertEquals(Virtio.BLK_S_IOERR, mem.get(JAVA_BYTE, st2));
            assertEquals(1, q.usedLength(used - 1));

            header(mem, hdr2, 99, 0);
            q.publishRaw(12);
            used++;
            awaitUsed(q, used);
            assertEquals(Virtio.BLK_S_UNSUPP, mem.get(JAVA_BYTE, st2));

            // 7. A lying available index (beyond the ring size): the queue is broken and stops; nothing else is.
            int before = q.usedIndex();
            q.setAvailIndexRaw(before + 1000);
            goodControllerServes(7);
            assertEquals(before, q.usedIndex(), "a broken queue publishes nothing more");
            assertTrue(hostile.connected());
        } finally {
            c.close(); // GET_VRING_BASE still answers on a broken queue
        }
        // The hostile controller takes a fresh front end and serves it.
        VirtioUserBlkBdev again = VirtioUserBlkBdev.attach("VirtioAgain", hostile.options().socketPath(), 1, 32);
        bdevs.register(again);
        BdevDesc d = bdevs.open("VirtioAgain", true, (t, x) -> { });
        MemorySegment buf = arena.allocate(4096, 4096);
        assertEquals(0, BlkHarness.write(group.reactor(0), d, buf, 0, 8));
        assertEquals(0, BlkHarness.read(group.reactor(0), d, buf, 0, 8));
        d.close();
        bdevs.unregister("VirtioAgain").join();
    }

    /** Waits for the next used descriptor of a packed ring: {buffer id, length}. */
    private static int[] awaitPackedUsed(PackedDriverQueue q, int chainLength) throws InterruptedException {
        int[] out = new int[2];
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!q.pollUsedRaw(chainLength, out)) {
            assertTrue(System.nanoTime() < deadline, "no used descriptor");
            Thread.sleep(1);
        }
        return out;
    }

    @Test
    void packedRingBadChainsFailAloneAndAContradictoryRingStopsOnlyItsQueue() throws Exception {
        VhostUserClient c = VhostUserClient.connect(hostilePacked.options().socketPath(), 1, QSIZE, 4096, 0);
        try {
            assertTrue(c.packed());
            PackedDriverQueue q = c.packedQueue(0);
            SharedMemory sm = c.memory();
            MemorySegment mem = sm.segment();
            long meta = q.slotMetaOffset(0), bounce = q.slotBounceOffset(0);
            long hdr = meta, status = meta + 16, data = bounce, table = meta + 64;
            mem.asSlice(bounce, 4096).fill((byte) 0x5a);
            mem.set(JAVA_BYTE, status, (byte) 0xff);
            long end = sm.gpa(sm.size());
            int w = Virtio.DESC_F_WRITE, n = Virtio.DESC_F_NEXT;
            header(mem, hdr, Virtio.BLK_T_IN, 0);

            // Chains that each fail alone; the used descriptor echoes the id of the chain's last descriptor.
            long[][] addrs = {
                    {0x10, sm.gpa(status)},                                  // header below guest memory
                    {sm.gpa(hdr), end - 16},                                 // a length running past the region
                    {sm.gpa(table)},                                         // indirect table of 40 bytes
                    {end - 32},                                              // indirect table outside memory
                    {sm.gpa(data), sm.gpa(hdr), sm.gpa(status)},             // readable after writable
                    {sm.gpa(table), sm.gpa(status)},                         // indirect with NEXT
            };
            long[][] lens = {{16, 1}, {16, 0xffffffffL}, {40}, {64}, {512, 16, 1}, {48, 1}};
            int[][] flags = {{n, w}, {n, w}, {Virtio.DESC_F_INDIRECT}, {Virtio.DESC_F_INDIRECT}, {w | n, n, w},
                    {Virtio.DESC_F_INDIRECT | n, w}};
            for (int i = 0; i < addrs.length; i++) {
                q.postRaw(addrs[i], lens[i], flags[i], addrs[i].length, 100 + i);
                int[] used = awaitPackedUsed(q, addrs[i].length);
                assertEquals(100 + i, used[0], "bad chain " + i + ": its buffer id");
                assertEquals(0, used[1], "bad chain " + i + " returned with nothing written");
            }
            assertEquals((byte) 0xff, mem.get(JAVA_BYTE, status), "no status written for chains that failed validation");
            for (long i = 0; i < 4096; i++) {
                assertEquals((byte) 0x5a, mem.get(JAVA_BYTE, bounce + i), "data buffer untouched");
            }

            // Good requests on the same queue: GET_ID through an indirect table (packed layout: flags at 14), a read
            // beyond the end as a direct chain (IOERR), an unknown type.
            header(mem, hdr, Virtio.BLK_T_GET_ID, 0);
            mem.set(JAVA_LONG, table, sm.gpa(hdr));
            mem.set(JAVA_INT, table + 8, 16);
            mem.set(JAVA_INT, table + 12, 0);
            mem.set(JAVA_LONG, table + 16, sm.gpa(data));
            mem.set(JAVA_INT, table + 24, 20);
            mem.set(JAVA_INT, table + 28, w << 16);
            mem.set(JAVA_LONG, table + 32, sm.gpa(status));
            mem.set(JAVA_INT, table + 40, 1);
            mem.set(JAVA_INT, table + 44, w << 16);
            q.postRaw(new long[]{sm.gpa(table)}, new long[]{48}, new int[]{Virtio.DESC_F_INDIRECT}, 1, 7);
            int[] used = awaitPackedUsed(q, 1);
            assertEquals(7, used[0]);
            assertEquals(Virtio.BLK_ID_BYTES + 1, used[1], "20 serial bytes + status");
            assertEquals(Virtio.BLK_S_OK, mem.get(JAVA_BYTE, status));
            byte[] serial = new byte[Virtio.BLK_ID_BYTES];
            MemorySegment.copy(mem, JAVA_BYTE, data, serial, 0, serial.length);
            assertEquals("MallocHostile", new String(serial, StandardCharsets.US_ASCII).replace("\0", ""));

            header(mem, hdr, Virtio.BLK_T_IN, 2048); // the first sector past the end
            q.postRaw(new long[]{sm.gpa(hdr), sm.gpa(data), sm.gpa(status)}, new long[]{16, 512, 1}, new int[]{n, w | n, w}, 3, 8);
            used = awaitPackedUsed(q, 3);
            assertEquals(8, used[0]);
            assertEquals(1, used[1]);
            assertEquals(Virtio.BLK_S_IOERR, mem.get(JAVA_BYTE, status));
            header(mem, hdr, 99, 0);
            q.postRaw(new long[]{sm.gpa(hdr), sm.gpa(status)}, new long[]{16, 1}, new int[]{n, w}, 2, 9);
            used = awaitPackedUsed(q, 2);
            assertEquals(Virtio.BLK_S_UNSUPP, mem.get(JAVA_BYTE, status));

            // A chain whose NEXT leads into a descriptor the driver never made available: the ring contradicts
            // itself, the queue stops; nothing else does.
            int pos = q.availPosition();
            q.writeDescRaw((pos + 1) % QSIZE, sm.gpa(status), 1, 10, w | PackedDriverQueue.availFlags(!q.availWrapCounter()));
            q.postRaw(new long[]{sm.gpa(hdr)}, new long[]{16}, new int[]{n}, 1, 10);
            goodControllerServes(31);
            assertFalse(q.pollUsedRaw(1, new int[2]), "a broken queue returns nothing");
            assertTrue(hostilePacked.connected());
        } finally {
            c.close(); // GET_VRING_BASE still answers on a broken queue
        }
        VirtioUserBlkBdev again = VirtioUserBlkBdev.attach("VirtioAgainPacked", hostilePacked.options().socketPath(), 1, 32);
        assertTrue(again.client().packed());
        bdevs.register(again);
        BdevDesc d = bdevs.open("VirtioAgainPacked", true, (t, x) -> { });
        MemorySegment buf = arena.allocate(4096, 4096);
        assertEquals(0, BlkHarness.write(group.reactor(0), d, buf, 0, 8));
        assertEquals(0, BlkHarness.read(group.reactor(0), d, buf, 0, 8));
        d.close();
        bdevs.unregister("VirtioAgainPacked").join();
    }

    @Test
    void randomPackedChainsNeverEscapeGuestMemoryOrStopTheDaemon() throws Exception {
        SplittableRandomHolder r = new SplittableRandomHolder(4242);
        int requests = 0;
        for (int conn = 0; conn < 2; conn++) {
            VhostUserClient c = VhostUserClient.connect(hostilePacked.options().socketPath(), 1, QSIZE, 4096, 0);
            try {
                PackedDriverQueue q = c.packedQueue(0);
                SharedMemory sm = c.memory();
                MemorySegment mem = sm.segment();
                long size = sm.size();
                long base = q.slotMetaOffset(0);
                for (int s = 0; s < 4; s++) {
                    header(mem, q.slotMetaOffset(s), r.pick(new int[]{0, 1, 4, 8, 11, 13, 99}), r.next(4096));
                }
                // Random indirect tables in slot metadata areas (scribbled, packed layout).
                for (int b = 0; b < 300; b++) {
                    int chains = 1 + (int) r.next(3), descs = 0;
                    int[] lengths = new int[chains];
                    for (int ch = 0; ch < chains; ch++) {
                        int count = 1 + (int) r.next(4);
                        if (descs + count > QSIZE) {
                            chains = ch;
                            break;
                        }
                        long[] addr = new long[count], len = new long[count];
                        int[] flags = new int[count];
                        for (int i = 0; i < count; i++) {
                            addr[i] = r.chance(16) ? sm.gpa(0) - 1 - r.next(1 << 20) : sm.gpa(base) + r.next(size - base + 8192);
                            len[i] = r.chance(8) ? r.next(1L << 32) : r.next(9000);
                            // NEXT on all but the last keeps the ring itself consistent; WRITE and INDIRECT at random.
                            flags[i] = (int) r.next(8) & ~Virtio.DESC_F_NEXT | (i < count - 1 ? Virtio.DESC_F_NEXT : 0);
                        }
                        q.postRaw(addr, len, flags, count, (int) r.next(65536));
                        lengths[ch] = count;
                        descs += count;
                    }
                    for (int ch = 0; ch < chains; ch++) {
                        awaitPackedUsed(q, lengths[ch]);
                        requests++;
                    }
                }
            } finally {
                c.close();
            }
        }
        assertTrue(requests > 500, "fuzzed " + requests + " packed chains");
        goodControllerServes(41);
        VhostUserClient again = VhostUserClient.connect(hostilePacked.options().socketPath(), 1, QSIZE, 4096, 0);
        again.close();
    }

    private static byte[] le(int... ints) {
        ByteBuffer b = ByteBuffer.allocate(ints.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i : ints) {
            b.putInt(i);
        }
        return b.array();
    }

    @Test
    void malformedProtocolMessagesAreRefusedWithoutHarm() throws Exception {
        VhostUserClient c = VhostUserClient.connect(hostile.options().socketPath(), 1, QSIZE, 4096, 0);
        int ack = VhostUserRequest.FLAG_NEED_REPLY;
        // Each is refused (nack or ignored); the connection and the daemon stay up.
        c.sendRaw(VhostUserRequest.SET_VRING_NUM, ack, le(999, 64));                 // queue index out of range
        c.sendRaw(VhostUserRequest.SET_VRING_NUM, ack, le(0, 100));                  // not a power of two
        c.sendRaw(VhostUserRequest.SET_MEM_TABLE, ack, le(0, 0));                    // no regions
        c.sendRaw(VhostUserRequest.SET_MEM_TABLE, ack, le(9, 0));                    // too many, no fds
        c.sendRaw(VhostUserRequest.SET_VRING_ADDR, ack, le(0, 0, 3, 0, 0, 0, 0, 0, 0, 0)); // misaligned, running queue
        c.sendRaw(VhostUserRequest.SET_VRING_KICK, ack, le(0, 0));                   // no fd attached
        c.sendRaw(77, ack, new byte[0]);                                             // unknown request
        c.sendRaw(VhostUserRequest.SET_FEATURES, ack, le(0));                        // short payload
        goodControllerServes(11);
        assertTrue(hostile.connected());
        // A header that announces an impossible payload ends that connection only.
        c.sendRawFrame(le(VhostUserRequest.GET_FEATURES, 1, 0x7fffffff));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (hostile.connected()) {
            assertTrue(System.nanoTime() < deadline, "the server drops a connection that breaks framing");
            Thread.sleep(1);
        }
        c.close();
        goodControllerServes(12);
        VhostUserClient again = VhostUserClient.connect(hostile.options().socketPath(), 1, QSIZE, 4096, 0);
        assertEquals(1, again.queueCount());
        again.close();
    }

    private static byte[] le64(long... longs) {
        ByteBuffer b = ByteBuffer.allocate(longs.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long l : longs) {
            b.putLong(l);
        }
        return b.array();
    }

    @Test
    void filesShorterThanTheyClaimAreRefusedBeforeAnythingTouchesThem() throws Exception {
        VhostUserClient c = VhostUserClient.connect(hostile.options().socketPath(), 1, QSIZE, 4096, 0);
        try {
            // A dirty log and a memory region whose files end long before the sizes claimed: mapping them and
            // writing past the end would kill the daemon with SIGBUS. Both are refused; the session goes on.
            int shortLog = io.ustor.env.MemFd.create("short-log", 4096, io.ustor.env.MemFd.MFD_CLOEXEC);
            c.sendRaw(VhostUserRequest.SET_LOG_BASE, 0, le64(1 << 20, 0), shortLog);
            io.ustor.env.Posix.closeRaw(shortLog);
            int shortMem = io.ustor.env.MemFd.create("short-mem", 4096, io.ustor.env.MemFd.MFD_CLOEXEC);
            byte[] table = new byte[8 + 32];
            ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN).putInt(1).putInt(0)
                    .putLong(SharedMemory.GPA_BASE).putLong(64L << 20).putLong(0x7f0000000000L).putLong(0);
            c.sendRaw(VhostUserRequest.SET_MEM_TABLE, 0, table, shortMem);
            io.ustor.env.Posix.closeRaw(shortMem);
            MemorySegment log = c.startDirtyLog(); // a proper log is taken (and answered) on the same connection
            assertTrue(hostile.connected());

            // The queue still runs on the old table, with logging on: GET_ID is served and its pages logged.
            DriverQueue q = c.queue(0);
            SharedMemory sm = c.memory();
            MemorySegment mem = sm.segment();
            long hdr = q.slotMetaOffset(0), data = q.slotBounceOffset(0);
            header(mem, hdr, Virtio.BLK_T_GET_ID, 0);
            q.writeDescRaw(0, sm.gpa(hdr), 16, Virtio.DESC_F_NEXT, 1);
            q.writeDescRaw(1, sm.gpa(data), 20, Virtio.DESC_F_WRITE | Virtio.DESC_F_NEXT, 2);
            q.writeDescRaw(2, sm.gpa(hdr + 16), 1, Virtio.DESC_F_WRITE, 0);
            int used = q.usedIndex();
            q.publishRaw(0);
            awaitUsed(q, (used + 1) & 0xffff);
            assertEquals(Virtio.BLK_S_OK, mem.get(JAVA_BYTE, hdr + 16));
            long page = sm.gpa(data) >>> 12;
            assertTrue((log.get(JAVA_BYTE, page / 8) & (1 << (page % 8))) != 0, "the serial's page is logged");
        } finally {
            c.close();
        }
        goodControllerServes(51);
    }

    @Test
    void randomDescriptorsNeverEscapeGuestMemoryOrStopTheDaemon() throws Exception {
        SplittableRandomHolder r = new SplittableRandomHolder(2024);
        int batches = 0, requests = 0;
        for (int conn = 0; conn < 3; conn++) {
            VhostUserClient c = VhostUserClient.connect(hostile.options().socketPath(), 1, QSIZE, 4096, 0);
            try {
                DriverQueue q = c.queue(0);
                SharedMemory sm = c.memory();
                MemorySegment mem = sm.segment();
                long size = sm.size();
                // Valid-looking headers in every slot so some chains get as far as the bdev.
                for (int s = 0; s < QSIZE; s++) {
                    header(mem, q.slotMetaOffset(s), r.pick(new int[]{0, 1, 4, 8, 11, 13, 99}), r.next(4096));
                }
                int used = q.usedIndex();
                for (int b = 0; b < 200; b++) {
                    // A batch of distinct heads over a randomly scribbled descriptor table.
                    for (int i = 0; i < QSIZE; i++) {
                        // Anywhere past the rings (device writes there are the driver's business), beyond the end,
                        // or below the region; never into the rings themselves, so the test's view stays valid.
                        long base = q.slotMetaOffset(0);
                        long addr = r.chance(16) ? sm.gpa(0) - 1 - r.next(1 << 20) : sm.gpa(base) + r.next(size - base + 8192);
                        long len = r.chance(8) ? r.next(1L << 32) : r.next(9000);
                        int flags = (int) r.next(8);
                        int next = (int) (r.chance(16) ? r.next(65536) : r.next(QSIZE));
                        q.writeDescRaw(i, addr, len, flags, next);
                    }
                    int n = 1 + (int) r.next(QSIZE);
                    for (int i = 0; i < n; i++) {
                        q.publishRaw(i);
                    }
                    used = (used + n) & 0xffff;
                    awaitUsed(q, used);
                    batches++;
                    requests += n;
                }
            } finally {
                c.close();
            }
        }
        assertTrue(requests > 1000, "fuzzed " + requests + " requests in " + batches + " batches");
        goodControllerServes(21);
        VhostUserClient again = VhostUserClient.connect(hostile.options().socketPath(), 1, QSIZE, 4096, 0);
        again.close();
    }

    /** A seeded random source with the few shapes the fuzz test needs. */
    private static final class SplittableRandomHolder {
        private final java.util.SplittableRandom r;

        SplittableRandomHolder(long seed) {
            r = new java.util.SplittableRandom(seed);
        }

        long next(long bound) {
            return r.nextLong(bound);
        }

        boolean chance(int oneIn) {
            return r.nextInt(oneIn) == 0;
        }

        int pick(int[] values) {
            return values[r.nextInt(values.length)];
        }
    }
}
