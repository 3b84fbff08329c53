package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AffinityTest {
    @Test
    void pinnedThreadRunsOnThePinnedCpu() throws Exception {
        int[] allowed = Affinity.allowedCpus();
        assertTrue(allowed.length >= 1);
        int target = allowed[allowed.length - 1];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int[] seen = new int[2];
        int[][] after = new int[1][];
        // A fresh thread, so the test runner's own thread keeps its affinity.
        Thread t = new Thread(() -> {
            try {
                Affinity.pinCurrentThread(target);
                seen[0] = Affinity.currentCpu();
                Thread.yield();
                seen[1] = Affinity.currentCpu();
                after[0] = Affinity.allowedCpus();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        assertNull(failure.get());
        assertEquals(target, seen[0]);
        assertEquals(target, seen[1]);
        assertArrayEquals(new int[]{target}, after[0]);
    }

    @Test
    void pinningToAMissingCpuNamesItAndTheAllowedSet() {
        NativeException e = assertThrows(NativeException.class, () -> Affinity.pinCurrentThread(1023));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("[1023]"), e.getMessage());
        assertTrue(e.getMessage().contains("Allowed CPUs are"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Affinity.pinCurrentThread(4096));
    }
}
