package io.ustor.vhost.server;

import io.ustor.vhost.virtio.Virtio;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The packed-ring inflight log (vhost-user.rst QueueRegionPacked) against the back end dying at each point the spec
 * names: after fetching, mid-fetch, between freeing a chain's entries and writing its used descriptor, and after
 * the used descriptor but before the old copies caught up; and against a buffer that does not add up.
 */
class PackedInflightQueueTest {
    private static final int SIZE = 8;

    private static MemorySegment region(Arena arena) {
        return arena.allocate(InflightRegion.queueRegionBytes(SIZE, true), 64);
    }

    /** A ring whose descriptors were all made available on the first lap (wrap counter 1). */
    private static MemorySegment ring(Arena arena) {
        MemorySegment r = arena.allocate(16L * SIZE, 16);
        for (int i = 0; i < SIZE; i++) {
            r.set(JAVA_SHORT, 16L * i + 14, (short) Virtio.PACKED_DESC_F_AVAIL);
        }
        return r;
    }

    /** Fetches a chain of {@code n} descriptors with addresses {@code base + k}, id {@code id}: its head entry. */
    private static int fetch(PackedInflightQueue q, int n, long base, int id) {
        int e = q.begin();
        for (int k = 0; k < n; k++) {
            q.add(e, base + k, 512, k < n - 1 ? Virtio.DESC_F_NEXT : Virtio.DESC_F_WRITE, id, k == n - 1);
        }
        return e;
    }

    private static void markUsed(MemorySegment ring, int pos) {
        ring.set(JAVA_SHORT, 16L * pos + 14, (short) (Virtio.PACKED_DESC_F_AVAIL | Virtio.PACKED_DESC_F_USED));
    }

    @Test
    void chainsNotReturnedAreResubmittedInFetchOrderFromTheCopiedDescriptors() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = region(arena), ring = ring(arena);
            PackedInflightQueue q = new PackedInflightQueue(region, SIZE, "t");
            PackedInflightQueue.Recovery fresh = q.recover(ring, 0, true);
            assertTrue(fresh.fresh());
            int a = fetch(q, 2, 100, 7), b = fetch(q, 1, 200, 3), c = fetch(q, 3, 300, 5);
            // b completes: entries freed, used descriptor at position 0 (b's one descriptor moves it to 1), committed.
            q.returned(b, 1, true);
            markUsed(ring, 0);
            q.committed(b);

            PackedInflightQueue after = new PackedInflightQueue(region, SIZE, "t");
            PackedInflightQueue.Recovery r = after.recover(ring, 0, true);
            assertFalse(r.fresh());
            assertNull(r.problem());
            assertArrayEquals(new int[]{a, c}, r.heads(), "a then c, in fetch order");
            assertEquals(1, r.usedPos());
            assertTrue(r.usedWrap());
            assertEquals(3, after.num(c));
            int e = c;
            for (int k = 0; k < 3; k++) {
                assertEquals(300 + k, after.addr(e));
                if (k < 2) {
                    e = after.next(e);
                }
            }
            assertEquals(5, after.id(e), "the buffer id is the last descriptor's");
        }
    }

    @Test
    void aReturnWhoseUsedDescriptorWasNotWrittenIsRolledBack() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = region(arena), ring = ring(arena);
            PackedInflightQueue q = new PackedInflightQueue(region, SIZE, "t");
            q.recover(ring, 0, true);
            int a = fetch(q, 2, 100, 1), b = fetch(q, 2, 200, 2);
            q.returned(a, 2, true); // died before the used descriptor
            PackedInflightQueue.Recovery r = new PackedInflightQueue(region, SIZE, "t").recover(ring, 0, true);
            assertArrayEquals(new int[]{a, b}, r.heads(), "both still in flight");
            assertEquals(0, r.usedPos());
        }
    }

    @Test
    void aReturnWhoseUsedDescriptorIsVisibleIsCommitted() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = region(arena), ring = ring(arena);
            PackedInflightQueue q = new PackedInflightQueue(region, SIZE, "t");
            q.recover(ring, 0, true);
            int a = fetch(q, 2, 100, 1), b = fetch(q, 2, 200, 2);
            q.returned(a, 2, true);
            markUsed(ring, 0); // died before committing
            PackedInflightQueue.Recovery r = new PackedInflightQueue(region, SIZE, "t").recover(ring, 0, true);
            assertArrayEquals(new int[]{b}, r.heads(), "a was returned to the driver");
            assertEquals(2, r.usedPos());
        }
    }

    @Test
    void aChainFetchedHalfwayIsForgotten() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = region(arena), ring = ring(arena);
            PackedInflightQueue q = new PackedInflightQueue(region, SIZE, "t");
            q.recover(ring, 0, true);
            int a = fetch(q, 1, 100, 1);
            int half = q.begin();
            q.add(half, 500, 16, Virtio.DESC_F_NEXT, 9, false); // died before the last descriptor
            PackedInflightQueue.Recovery r = new PackedInflightQueue(region, SIZE, "t").recover(ring, 0, true);
            assertArrayEquals(new int[]{a}, r.heads());
            // And the successor goes on from there: the next chain takes the entry the half one had.
            PackedInflightQueue next = new PackedInflightQueue(region, SIZE, "t");
            next.recover(ring, 0, true);
            assertEquals(half, next.begin());
        }
    }

    @Test
    void aBufferThatDoesNotAddUpIsResetAndReported() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = region(arena), ring = ring(arena);
            PackedInflightQueue q = new PackedInflightQueue(region, SIZE, "t");
            q.recover(ring, 0, true);
            int a = fetch(q, 2, 100, 1);
            region.set(JAVA_SHORT, InflightRegion.PACKED_QUEUE_HEADER + 32L * a + 6, (short) 9); // num 9 > ring
            PackedInflightQueue.Recovery r = new PackedInflightQueue(region, SIZE, "t").recover(ring, 3, false);
            assertTrue(r.fresh());
            assertNotNull(r.problem());
            assertEquals(3, r.usedPos(), "the front end's position, for want of a better one");
            region.set(JAVA_SHORT, 10, (short) 16); // desc_num of another ring size
            assertNotNull(new PackedInflightQueue(region, SIZE, "t").recover(ring, 0, true).problem());
        }
    }
}
