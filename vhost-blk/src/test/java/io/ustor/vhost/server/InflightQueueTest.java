package io.ustor.vhost.server;

import io.ustor.env.MemFd;
import io.ustor.vhost.protocol.VhostProtocolException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The split-ring inflight log against the back end dying at each point the spec names, and against a buffer that
 * does not add up (it comes from the front end: untrusted).
 */
class InflightQueueTest {
    private static final int SIZE = 8;

    private static MemorySegment region(Arena arena) {
        return arena.allocate(InflightRegion.queueRegionBytes(SIZE, false), 64);
    }

    @Test
    void aFreshBufferIsInitialisedAndReportedFresh() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightQueue.Recovery rec = new InflightQueue(r, SIZE).recover(5);
            assertTrue(rec.fresh());
            assertNull(rec.problem());
            assertEquals(1, r.get(JAVA_SHORT, 8), "version");
            assertEquals(SIZE, r.get(JAVA_SHORT, 10), "desc_num");
            assertEquals(5, r.get(JAVA_SHORT, 14), "used_idx");
        }
    }

    @Test
    void headsNotReturnedAreResubmittedInFetchOrder() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightQueue q = new InflightQueue(r, SIZE);
            q.recover(0);
            q.fetched(6);
            q.fetched(2);
            q.fetched(4);
            q.fetched(0);
            q.returned(2); // completed and published
            q.published(1);
            q.returned(0); // written to the used ring, index not published: the driver never saw it
            // the back end dies here
            InflightQueue.Recovery rec = new InflightQueue(r, SIZE).recover(1);
            assertFalse(rec.fresh());
            assertArrayEquals(new int[]{6, 4, 0}, rec.resubmit());
        }
    }

    @Test
    void aBatchPublishedButNotClearedCountsAsDone() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightQueue q = new InflightQueue(r, SIZE);
            q.recover(0);
            for (int h = 0; h < 4; h++) {
                q.fetched(h);
            }
            q.returned(3);
            q.returned(1);
            // the used ring's index went to 2, then the back end died before clearing the batch's marks
            InflightQueue.Recovery rec = new InflightQueue(r, SIZE).recover(2);
            assertArrayEquals(new int[]{0, 2}, rec.resubmit());
            assertEquals(2, r.get(JAVA_SHORT, 14), "used_idx caught up with the ring");
            // the successor counts on after the highest counter
            InflightQueue next = new InflightQueue(r, SIZE);
            next.recover(2);
            next.fetched(5);
            assertArrayEquals(new int[]{0, 2, 5}, new InflightQueue(r, SIZE).recover(2).resubmit());
        }
    }

    @Test
    void aBufferThatDoesNotAddUpIsResetNotTrusted() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            new InflightQueue(r, SIZE).recover(0);
            r.set(JAVA_SHORT, 10, (short) 1024); // desc_num for another ring
            InflightQueue.Recovery rec = new InflightQueue(r, SIZE).recover(0);
            assertTrue(rec.fresh());
            assertNotNull(rec.problem());

            InflightQueue q = new InflightQueue(r, SIZE);
            q.recover(0);
            q.fetched(1);
            rec = new InflightQueue(r, SIZE).recover(100); // a batch longer than the ring
            assertTrue(rec.fresh());
            assertEquals(0, rec.resubmit().length);

            q = new InflightQueue(r, SIZE);
            q.recover(0);
            q.fetched(1);
            q.returned(1);
            r.set(JAVA_SHORT, InflightRegion.QUEUE_HEADER + InflightRegion.DESC_STATE + 6, (short) 999); // list leaves the ring
            rec = new InflightQueue(r, SIZE).recover(2);
            assertTrue(rec.fresh());
            assertTrue(rec.problem().contains("leaves the ring"), rec.problem());
        }
    }

    private static int memfd(long size) {
        return MemFd.create("inflight-test", size, MemFd.MFD_CLOEXEC);
    }

    @Test
    void setInflightFdChecksTheFileAgainstTheShape() {
        long two = InflightRegion.bytes(2, SIZE, false);
        assertThrows(VhostProtocolException.class, () -> InflightRegion.map(memfd(100), two, 0, 2, SIZE, 4, false), "file too small");
        assertThrows(VhostProtocolException.class, () -> InflightRegion.map(memfd(two), 64, 0, 2, SIZE, 4, false), "size too small");
        assertThrows(VhostProtocolException.class, () -> InflightRegion.map(memfd(two), two, 0, 5, SIZE, 4, false), "queues");
        assertThrows(VhostProtocolException.class, () -> InflightRegion.map(memfd(two), two, 0, 2, 6, 4, false), "ring size");
        assertThrows(VhostProtocolException.class, () -> InflightRegion.map(memfd(two + 4096), two, 100, 2, SIZE, 4, false), "offset");
        InflightRegion ok = InflightRegion.map(memfd(two), two, 0, 2, SIZE, 4, false);
        assertNotNull(ok.queue(1, SIZE, false));
        assertNull(ok.queue(2, SIZE, false), "no region for a third queue");
        assertNull(ok.queue(0, 16, false), "nor for a ring of another size");
        assertNull(ok.queue(0, SIZE, true), "nor for a packed ring");
        ok.unmap();
    }
}
