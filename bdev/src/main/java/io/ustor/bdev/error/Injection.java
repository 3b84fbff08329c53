package io.ustor.bdev.error;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One armed error for one I/O type: what it does, how many more I/Os it hits (shared by every reactor's channel),
 * from which queue depth on, and for CORRUPT_DATA where and with what.
 */
final class Injection {
    final ErrorType type;
    final long queueDepth;
    final long corruptOffset;
    final int corruptValue;
    private final AtomicLong remaining;

    Injection(ErrorType type, long count, long queueDepth, long corruptOffset, int corruptValue) {
        this.type = type;
        this.remaining = new AtomicLong(count);
        this.queueDepth = queueDepth;
        this.corruptOffset = corruptOffset;
        this.corruptValue = corruptValue;
    }

    /** Takes one hit if any is left and the channel has {@code queueDepth} I/Os or more, this one included. */
    boolean take(int depth) {
        if (depth < queueDepth) {
            return false;
        }
        for (long n = remaining.get(); n > 0; n = remaining.get()) {
            if (remaining.compareAndSet(n, n - 1)) {
                return true;
            }
        }
        return false;
    }

    long remaining() {
        return remaining.get();
    }
}
