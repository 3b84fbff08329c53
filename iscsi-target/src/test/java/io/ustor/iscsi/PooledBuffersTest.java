package io.ustor.iscsi;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Command data in iobuf pool buffers: transfers of every size class (small, large, longer than a pool buffer and
 * longer than a task's kept memory) written and read back through real sockets with header and data digests, by
 * two sessions on two reactors at once; afterwards every buffer is back in the pool.
 */
class PooledBuffersTest {
    private static final int BLOCK = 512;
    private static TestTarget target;

    @BeforeAll
    static void start() {
        target = new TestTarget(2, 16384, BLOCK, ChapPolicy.none(), IscsiOptions.defaults(), 0, true);
    }

    @AfterAll
    static void stop() {
        if (target != null) {
            target.close();
        }
    }

    private static MiniInitiator session() throws IOException {
        MiniInitiator m = new MiniInitiator(target.address);
        m.socket.setSoTimeout(30_000);
        int[] status = new int[1];
        m.login(TestTarget.IQN, Map.of("HeaderDigest", "CRC32C,None", "DataDigest", "CRC32C,None",
                "MaxBurstLength", "65536", "FirstBurstLength", "65536"), status);
        assertEquals(0, status[0], "login status");
        assertTrue(m.headerDigest && m.dataDigest, "digests negotiated");
        return m;
    }

    /** WRITE(10) without immediate data: every byte goes in Data-Out PDUs answering R2Ts (64 KiB bursts). */
    private static int write(MiniInitiator m, long lba, byte[] data) throws IOException {
        byte[] h = m.command(0x20, data.length, MiniInitiator.rw10(0x2a, lba, data.length / BLOCK));
        int itt = ByteBuffer.wrap(h, 16, 4).getInt();
        m.send(h, null);
        while (true) {
            MiniInitiator.Pdu p = m.read();
            if (p.opcode() == 0x21) {
                return p.u8(3);
            }
            if (p.opcode() != 0x31) {
                continue;
            }
            int ttt = p.i32(20), off = p.i32(40), len = p.i32(44);
            int sn = 0;
            for (int done = 0; done < len; sn++) {
                int n = Math.min(8192 * 8, len - done);
                byte[] d = MiniInitiator.header(0x05, done + n == len ? 0x80 : 0);
                MiniInitiator.put32(d, 16, itt);
                MiniInitiator.put32(d, 20, ttt);
                MiniInitiator.put32(d, 28, m.expStatSn);
                MiniInitiator.put32(d, 36, sn);
                MiniInitiator.put32(d, 40, off + done);
                byte[] chunk = new byte[n];
                System.arraycopy(data, off + done, chunk, 0, n);
                m.send(d, chunk);
                done += n;
            }
        }
    }

    /** Writes and reads back each size in turn on its own LBA range; returns nothing, asserts. */
    private static Void exercise(int seed, long baseLba) throws IOException {
        int[] sizes = {512, 4096, 8192, 12288, 65536, 131072, 135168, 262144, 1 << 20, 3 << 20};
        Random r = new Random(seed);
        try (MiniInitiator m = session()) {
            for (int round = 0; round < 3; round++) {
                for (int size : sizes) {
                    byte[] data = new byte[size];
                    r.nextBytes(data);
                    assertEquals(0, write(m, baseLba, data), "WRITE of " + size + " bytes");
                    byte[] back = m.read(baseLba, size / BLOCK, BLOCK);
                    assertNotNull(back, "READ of " + size + " bytes");
                    assertArrayEquals(data, back, "data of " + size + " bytes");
                }
            }
        }
        return null;
    }

    @Test
    void everySizeRoundTripsWithDigestsOnTwoReactors() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Void> a = pool.submit(() -> exercise(1, 0));
            Future<Void> b = pool.submit(() -> exercise(2, 8192));
            a.get();
            b.get();
        } finally {
            pool.shutdownNow();
        }
        // Both sessions are gone: every buffer is back in the pool or in a reactor's cache, none is lost.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!target.target.connections().isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "sessions did not end");
            Thread.sleep(10);
        }
        int cachedAtMost = 2 * 32;
        assertTrue(target.pool.smallAvailable() >= target.pool.smallCount() - cachedAtMost,
                "small buffers back: " + target.pool.smallAvailable() + " of " + target.pool.smallCount());
        assertTrue(target.pool.largeAvailable() >= target.pool.largeCount() - 2 * 8,
                "large buffers back: " + target.pool.largeAvailable() + " of " + target.pool.largeCount());
    }
}
