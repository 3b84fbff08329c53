package io.ustor.env.internal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExtentAllocatorTest {
    @Test
    void alignsAbsoluteAddressesAndCoalescesOnFree() {
        long base = 0x10000 + 64; // deliberately not page-aligned
        ExtentAllocator a = new ExtentAllocator(base, 1 << 20, 0);
        long x = a.allocate(100, 4096);
        assertEquals(0, (base + x) % 4096);
        long y = a.allocate(1, 64);
        assertEquals(0, (base + y) % 64);
        assertEquals(ExtentAllocator.roundSize(100) + 64, a.usedBytes());
        assertEquals(2, a.allocations());
        a.free(x);
        a.free(y);
        assertEquals(0, a.usedBytes());
        assertEquals(1, a.freeExtents(), "everything coalesced back into one extent");
        assertEquals(1 << 20, a.largestFreeExtent());
        assertThrows(IllegalStateException.class, () -> a.free(y), "double free");
    }

    @Test
    void returnsMinusOneWhenFullAndReusesFreedSpace() {
        ExtentAllocator a = new ExtentAllocator(0, 8192, 0);
        long p = a.allocate(4096, 4096);
        long q = a.allocate(4096, 4096);
        assertEquals(-1, a.allocate(64, 64));
        a.free(p);
        assertEquals(p, a.allocate(4000, 64));
        assertTrue(q >= 0);
    }

    @Test
    void smallExtentsDoNotCrossPageBoundaries() {
        long page = 2 << 20;
        ExtentAllocator a = new ExtentAllocator(0, 4 * page, page);
        a.allocate(page - 4096, 4096);
        long off = a.allocate(8192, 4096);
        assertEquals(page, off, "would have straddled the first page boundary");
        long big = a.allocate(page + 4096, 4096);
        assertTrue(big >= 0, "larger than a page may straddle");
    }

    @Test
    void randomAllocationsNeverOverlap() {
        Random rnd = new Random(42);
        ExtentAllocator a = new ExtentAllocator(4096, 1 << 22, 1 << 16);
        List<long[]> live = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            if (!live.isEmpty() && rnd.nextInt(3) == 0) {
                long[] e = live.remove(rnd.nextInt(live.size()));
                assertEquals(e[1], a.free(e[0]));
            } else {
                long size = 1 + rnd.nextInt(20000);
                long align = 1L << (6 + rnd.nextInt(8));
                long off = a.allocate(size, align);
                if (off >= 0) {
                    assertEquals(0, (4096 + off) % align);
                    long len = ExtentAllocator.roundSize(size);
                    for (long[] e : live) {
                        assertFalse(off < e[0] + e[1] && e[0] < off + len, "overlap");
                    }
                    live.add(new long[]{off, len});
                }
            }
        }
        for (long[] e : live) {
            a.free(e[0]);
        }
        assertEquals(1, a.freeExtents());
        assertEquals(0, a.usedBytes());
    }
}
