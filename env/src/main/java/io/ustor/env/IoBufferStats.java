package io.ustor.env;

/**
 * Counters of one size class (small or large) of one {@link IoBufferCache}, as SPDK's {@code iobuf_get_stats}
 * reports them (cache = {@code cacheHits}, main = {@code globalGets}, retry = {@code waits}) plus gauges.
 *
 * @param cacheHits  gets served from the reactor's own cache
 * @param globalGets gets (and queued waiters) served from the shared pool
 * @param waits      gets that found no buffer and queued their waiter
 * @param handoffs   buffers a put handed straight to a queued waiter
 * @param waiters    waiters queued now
 * @param buffersOut buffers handed out through this cache and not yet put back through it
 * @param cached     buffers held in the cache now
 */
public record IoBufferStats(long cacheHits, long globalGets, long waits, long handoffs, long waiters, long buffersOut,
                            long cached) {
}
