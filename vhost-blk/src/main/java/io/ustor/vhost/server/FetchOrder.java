package io.ustor.vhost.server;

import java.util.Arrays;

/**
 * The requests a previous back end left in flight, put back in the order it fetched them: by the counter each
 * inflight entry carries (vhost-user.rst, "Inflight I/O tracking"; compared unsigned), for split and packed layouts.
 */
final class FetchOrder {
    private final int[] heads;
    private final long[] counters;
    private int n;
    private long max;

    FetchOrder(int capacity) {
        heads = new int[capacity];
        counters = new long[capacity];
    }

    /** Adds the entry of descriptor {@code head} with its fetch counter (insertion sort: rings are small). */
    void add(int head, long counter) {
        int j = n++;
        while (j > 0 && Long.compareUnsigned(counters[j - 1], counter) > 0) {
            counters[j] = counters[j - 1];
            heads[j] = heads[j - 1];
            j--;
        }
        counters[j] = counter;
        heads[j] = head;
        if (Long.compareUnsigned(counter, max) > 0) {
            max = counter;
        }
    }

    /** The heads, oldest fetch first. */
    int[] heads() {
        return Arrays.copyOf(heads, n);
    }

    /** The counter the next fetch takes: one past the highest seen. */
    long nextCounter() {
        return max + 1;
    }
}
