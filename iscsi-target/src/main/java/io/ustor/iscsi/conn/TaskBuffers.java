package io.ustor.iscsi.conn;

import io.ustor.env.IoBufferCache;
import io.ustor.env.IoBufferPool;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.IdentityHashMap;

/**
 * Data buffers for the commands of one reactor's connections, taken from the target's {@link IoBufferPool} through
 * this reactor's {@link IoBufferCache}, so that connections share memory instead of each keeping its own. A
 * command longer than a large pool buffer, or one that finds the pool empty, uses its task's own memory instead
 * (see {@link IscsiTask#ensureBuffer}): a connection's PDU parsing cannot wait for a buffer.
 *
 * <p>The ByteBuffer view a data digest needs is made once per pool buffer and kept (pool buffers are the same
 * segments each time), so steady-state I/O allocates nothing. Only ever touched by its reactor.
 */
final class TaskBuffers {
    private static final System.Logger LOG = System.getLogger(TaskBuffers.class.getName());

    private final IoBufferCache cache;
    private final long largest;
    private final IdentityHashMap<MemorySegment, ByteBuffer> views = new IdentityHashMap<>();
    private boolean closed;

    private TaskBuffers(IoBufferCache cache) {
        this.cache = cache;
        this.largest = cache == null ? 0 : cache.pool().largeBufferSize();
    }

    /** Buffers from {@code pool} (null: none, tasks use their own memory) for the reactor named {@code reactorName}. */
    static TaskBuffers create(IoBufferPool pool, String reactorName) {
        if (pool == null) {
            return new TaskBuffers(null);
        }
        try {
            return new TaskBuffers(pool.createCache("iscsi " + reactorName));
        } catch (RuntimeException e) {
            // The pool cannot give this reactor a cache (every buffer could sit in other caches): own memory then.
            LOG.log(System.Logger.Level.WARNING, "iscsi on " + reactorName
                    + ": no iobuf cache, tasks use their own memory", e);
            return new TaskBuffers(null);
        }
    }

    /** Whether buffers come from a pool. */
    boolean pooling() {
        return cache != null && !closed;
    }

    /** The longest pool buffer (0 without a pool). */
    long largest() {
        return largest;
    }

    /** A pool buffer of at least {@code bytes}, or null (no pool, too long, or none free now). */
    MemorySegment take(long bytes) {
        if (cache == null || closed || bytes > largest) {
            return null;
        }
        return cache.get(bytes, null);
    }

    /** The ByteBuffer over a pool buffer (for the data digest), made on its first use. */
    ByteBuffer view(MemorySegment poolBuffer) {
        ByteBuffer v = views.get(poolBuffer);
        if (v == null) {
            v = poolBuffer.asByteBuffer();
            views.put(poolBuffer, v);
        }
        return v;
    }

    void give(MemorySegment poolBuffer) {
        cache.put(poolBuffer);
    }

    /** Returns the cached buffers to the pool (buffers still out go straight to the pool when given back). */
    void close() {
        closed = true;
        if (cache != null) {
            cache.close();
        }
    }
}
