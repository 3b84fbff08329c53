package io.ustor.env;

import java.lang.foreign.MemorySegment;

/**
 * Someone waiting for an I/O buffer: extend it with a long-lived object (a request that lives in a pool), pass it to
 * {@link IoBufferCache#get}, and when that returns null the waiter is queued; {@link #onBufferAvailable} is called
 * later, on the cache's reactor, with a buffer that now belongs to the waiter.
 *
 * <p>The queue is intrusive: the link lives in this object, so queueing allocates nothing. A waiter sits in at most
 * one queue at a time; to give up waiting call {@link IoBufferCache#cancel}.
 */
public abstract class IoBufferWaiter {
    /** Next in the cache's FIFO; owned by the cache. */
    IoBufferWaiter next;
    /** The queue this waiter is in, or null. */
    Object queuedOn;

    /**
     * A buffer came free for this waiter: it is at least as long as asked and belongs to the waiter, who returns it
     * with {@link IoBufferCache#put} when done. Called on the cache's reactor; must not block. The waiter is no longer
     * queued when this runs, so it may call {@link IoBufferCache#get} again.
     */
    public abstract void onBufferAvailable(MemorySegment buffer);

    /** Whether this waiter is queued on a cache. */
    public final boolean isWaiting() {
        return queuedOn != null;
    }
}
