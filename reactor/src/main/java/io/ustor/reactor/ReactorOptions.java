package io.ustor.reactor;

/**
 * How a {@link ReactorGroup}'s reactors run.
 *
 * @param idleMode             what an idle reactor does (each reactor may change its own later)
 * @param messageQueueCapacity slots in each reactor's message queue (rounded up to a power of two); a send to a full
 *                             queue returns false
 * @param messageBatch         at most this many messages run per loop iteration, so pollers are not starved
 * @param pinThreads           pin each reactor thread to its core (sched_setaffinity); when the core is not allowed
 *                             the reactor logs it once and runs unpinned
 */
public record ReactorOptions(IdleMode idleMode, int messageQueueCapacity, int messageBatch, boolean pinThreads) {
    /** Longest single sleep of an ADAPTIVE reactor that has pollers registered (they run at least this often). */
    public static final long MAX_ADAPTIVE_SLEEP_NANOS = 1_000_000L;
    /** Largest message queue: 2^24 slots. */
    public static final int MAX_QUEUE_CAPACITY = 1 << 24;

    public ReactorOptions {
        if (idleMode == null) {
            throw new IllegalArgumentException("idleMode is null");
        }
        if (messageQueueCapacity < 2 || messageQueueCapacity > MAX_QUEUE_CAPACITY) {
            throw new IllegalArgumentException("messageQueueCapacity " + messageQueueCapacity + " outside 2.."
                    + MAX_QUEUE_CAPACITY);
        }
        if (messageBatch < 1) {
            throw new IllegalArgumentException("messageBatch " + messageBatch + " must be at least 1");
        }
    }

    /** Busy-spinning, pinned reactors with 65536-slot queues and batches of 32 messages. */
    public static ReactorOptions defaults() {
        return new ReactorOptions(IdleMode.BUSY_SPIN, 65536, 32, true);
    }

    public ReactorOptions withIdleMode(IdleMode mode) {
        return new ReactorOptions(mode, messageQueueCapacity, messageBatch, pinThreads);
    }

    public ReactorOptions withMessageQueueCapacity(int capacity) {
        return new ReactorOptions(idleMode, capacity, messageBatch, pinThreads);
    }

    public ReactorOptions withMessageBatch(int batch) {
        return new ReactorOptions(idleMode, messageQueueCapacity, batch, pinThreads);
    }

    public ReactorOptions withPinThreads(boolean pin) {
        return new ReactorOptions(idleMode, messageQueueCapacity, messageBatch, pin);
    }
}
