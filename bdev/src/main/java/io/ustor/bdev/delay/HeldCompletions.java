package io.ustor.bdev.delay;

import io.ustor.bdev.BdevIo;

/**
 * Completions held until their deadline, in deadline order (one queue per latency class, so arrivals are in order).
 * A growable ring of ios and primitive deadlines: no allocation once it has grown to the channel's depth.
 */
final class HeldCompletions {
    private BdevIo[] ios = new BdevIo[64];
    private long[] deadlines = new long[64];
    private int head;
    private int size;

    void add(BdevIo io, long deadlineNanos) {
        if (size == ios.length) {
            grow();
        }
        int tail = (head + size) & (ios.length - 1);
        ios[tail] = io;
        deadlines[tail] = deadlineNanos;
        size++;
    }

    /** The oldest io if its deadline has passed at {@code now}, removed; otherwise null. */
    BdevIo pollDue(long now) {
        if (size == 0 || deadlines[head] - now > 0) {
            return null;
        }
        return take();
    }

    /** The oldest io regardless of its deadline, removed; null when empty. */
    BdevIo take() {
        if (size == 0) {
            return null;
        }
        BdevIo io = ios[head];
        ios[head] = null;
        head = (head + 1) & (ios.length - 1);
        size--;
        return io;
    }

    int size() {
        return size;
    }

    private void grow() {
        int n = ios.length;
        BdevIo[] i2 = new BdevIo[n * 2];
        long[] d2 = new long[n * 2];
        for (int k = 0; k < size; k++) {
            i2[k] = ios[(head + k) & (n - 1)];
            d2[k] = deadlines[(head + k) & (n - 1)];
        }
        ios = i2;
        deadlines = d2;
        head = 0;
    }
}
