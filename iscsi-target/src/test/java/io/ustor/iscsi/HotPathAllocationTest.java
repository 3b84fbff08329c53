package io.ustor.iscsi;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Steady-state READ/WRITE through a real connection allocates (next to) nothing on the reactor: measured with the
 * reactor thread's allocation counter over many commands after a warm-up.
 */
class HotPathAllocationTest {
    @Test
    void readsAndWritesDoNotAllocateOnTheReactor() throws Exception {
        measure(false);
    }

    /** The same with command data in iobuf pool buffers (taken and given back per command). */
    @Test
    void readsAndWritesWithPoolBuffersDoNotAllocateOnTheReactor() throws Exception {
        measure(true);
    }

    private static void measure(boolean pooled) throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        // A busy-polling reactor: an idle reactor's sleeps are not per-I/O work and would blur the count.
        System.setProperty("ustor.test.busy", "true");
        TestTarget target;
        try {
            target = new TestTarget(1, 131072, 512, ChapPolicy.none(), IscsiOptions.defaults(), 0, pooled);
        } finally {
            System.clearProperty("ustor.test.busy");
        }
        try (TestTarget t = target; MiniInitiator m = new MiniInitiator(t.address)) {
            int[] st = new int[1];
            m.login(TestTarget.IQN, Map.of(), st);
            assertEquals(0, st[0]);
            long reactorThread = t.reactors.reactor(0).threadId();
            byte[] data = new byte[4096];
            long perIo = Long.MAX_VALUE;
            for (int round = 0; round < 20 && perIo > 8; round++) {
                long before = threads.getThreadAllocatedBytes(reactorThread);
                for (int i = 0; i < 2000; i++) {
                    data[0] = (byte) i;
                    assertEquals(0, m.write(i * 8L, data, 512));
                    byte[] back = m.read(i * 8L, 8, 512);
                    if (i % 500 == 0) {
                        assertArrayEquals(data, back);
                    }
                }
                perIo = (threads.getThreadAllocatedBytes(reactorThread) - before) / 4000;
            }
            System.out.println("reactor bytes allocated per I/O when warm" + (pooled ? " (pool buffers): " : ": ") + perIo);
            if (pooled) {
                // The reactor's cache drew buffers from the pool's shared list (and keeps a few).
                assertTrue(t.pool.smallAvailable() < t.pool.smallCount(), "the commands used pool buffers");
            }
            assertTrue(perIo <= 8, "the reactor allocated " + perIo + " bytes per I/O when warm");
        }
    }
}
