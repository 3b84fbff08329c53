package io.ustor.vhost.server;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One split virtqueue's inflight tracking, per vhost-user.rst "Inflight I/O tracking": a head fetched from the
 * available ring is marked in flight with the next value of a counter (to resubmit in fetch order); a head
 * returned in the used ring joins the "last batch" list; once the used index covering the batch is published,
 * the batch's marks are cleared and {@code used_idx} records the published index. A back end that dies at any
 * point leaves enough for its successor ({@link #recover}) to tell which requests never completed.
 *
 * <p>Everything but {@link #recover} runs on the queue's reactor per request: no allocation.
 */
final class InflightQueue {
    private static final long VERSION = 8, DESC_NUM = 10, LAST_BATCH_HEAD = 12, USED_IDX = 14;
    static final short REGION_VERSION = 1;

    private final MemorySegment region;
    private final int size;
    /** Heads returned since the last publish, to clear once the used index covers them. */
    private final int[] batch;
    private int batchCount;
    private int lastBatchHead;
    private long counter;

    InflightQueue(MemorySegment region, int size) {
        this.region = region;
        this.size = size;
        // A head returns at most once per fetch; a hostile driver that lists a head twice can make one poll return
        // up to twice the ring (what was in flight, then the new ones completed inline).
        this.batch = new int[2 * size];
    }

    private static long desc(int head) {
        return InflightRegion.QUEUE_HEADER + (long) InflightRegion.DESC_STATE * head;
    }

    /** What a restarted back end finds. */
    record Recovery(boolean fresh, int[] resubmit, String problem) {
    }

    /**
     * Before the queue starts (on its reactor): settles the last batch against the used ring's index (the back
     * end may have died between publishing it and clearing the marks) and returns the heads still in flight,
     * oldest first. A region never used (version 0), or one that does not add up (written for another ring
     * size, a batch longer than the ring, a list leaving the ring), is reset and reported fresh: the front end's
     * base is then all there is.
     */
    Recovery recover(int ringUsedIdx) {
        int version = Short.toUnsignedInt(region.get(JAVA_SHORT, VERSION));
        if (version == 0) {
            reset(ringUsedIdx);
            return new Recovery(true, new int[0], null);
        }
        String problem = null;
        int descNum = Short.toUnsignedInt(region.get(JAVA_SHORT, DESC_NUM));
        int recorded = Short.toUnsignedInt(region.get(JAVA_SHORT, USED_IDX));
        int batchSize = (ringUsedIdx - recorded) & 0xffff;
        if (version != REGION_VERSION || descNum != size) {
            problem = "version " + version + " for " + descNum + " entries, the ring has " + size;
        } else if (batchSize > size) {
            problem = "last batch of " + batchSize + " entries (used index " + ringUsedIdx + ", recorded " + recorded + ")";
        } else {
            int head = Short.toUnsignedInt(region.get(JAVA_SHORT, LAST_BATCH_HEAD));
            for (int k = 0; k < batchSize; k++) {
                if (head >= size) {
                    problem = "last batch list leaves the ring at head " + head;
                    break;
                }
                region.set(JAVA_BYTE, desc(head), (byte) 0);
                head = Short.toUnsignedInt(region.get(JAVA_SHORT, desc(head) + 6));
            }
        }
        if (problem != null) {
            reset(ringUsedIdx);
            return new Recovery(true, new int[0], problem);
        }
        region.set(JAVA_SHORT, USED_IDX, (short) ringUsedIdx);
        lastBatchHead = Short.toUnsignedInt(region.get(JAVA_SHORT, LAST_BATCH_HEAD));
        FetchOrder order = new FetchOrder(size);
        for (int i = 0; i < size; i++) {
            if (region.get(JAVA_BYTE, desc(i)) != 0) {
                order.add(i, region.get(JAVA_LONG, desc(i) + 8));
            }
        }
        counter = order.nextCounter();
        return new Recovery(false, order.heads(), null);
    }

    private void reset(int ringUsedIdx) {
        region.fill((byte) 0);
        region.set(JAVA_SHORT, VERSION, REGION_VERSION);
        region.set(JAVA_SHORT, DESC_NUM, (short) size);
        region.set(JAVA_SHORT, USED_IDX, (short) ringUsedIdx);
        lastBatchHead = 0;
        counter = 1;
    }

    /** A head taken from the available ring. */
    void fetched(int head) {
        long d = desc(head);
        region.set(JAVA_LONG, d + 8, counter++);
        region.set(JAVA_BYTE, d, (byte) 1);
    }

    /** A head written to the used ring (not yet published). */
    void returned(int head) {
        region.set(JAVA_SHORT, desc(head) + 6, (short) lastBatchHead);
        lastBatchHead = head;
        region.set(JAVA_SHORT, LAST_BATCH_HEAD, (short) head);
        if (batchCount < batch.length) {
            batch[batchCount++] = head;
        }
    }

    /** The used index covering every returned head was published. */
    void published(int usedIdx) {
        for (int i = 0; i < batchCount; i++) {
            region.set(JAVA_BYTE, desc(batch[i]), (byte) 0);
        }
        batchCount = 0;
        region.set(JAVA_SHORT, USED_IDX, (short) usedIdx);
    }
}
