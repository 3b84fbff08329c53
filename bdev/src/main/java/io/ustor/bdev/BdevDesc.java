package io.ustor.bdev;

import io.ustor.env.Errno;

import java.lang.foreign.MemorySegment;

/**
 * An open bdev (SPDK's bdev descriptor): read-only or read-write, with an event callback. Get a channel on each
 * reactor that does I/O ({@link #getIoChannel()}), submit through the methods below on that reactor, put the channel
 * back and {@link #close()} when done (and when told REMOVE).
 *
 * <p>I/O methods return 0 when submitted (the callback comes later, never inside the call) or -errno: -EINVAL
 * (range, length, buffer too small, misaligned, wrong channel, no callback), -EBADF (write on a read-only descriptor),
 * -EOPNOTSUPP (= -ENOTSUP on Linux: the bdev cannot do it), -ENOMEM (no free io now: {@link #queueIoWait} and retry).
 */
public final class BdevDesc implements AutoCloseable {
    private final BdevRegistry registry;
    private final Bdev bdev;
    private final boolean writable;
    private final BdevEventCallback events;
    private final io.ustor.reactor.Reactor openedOn;
    volatile boolean closed;

    BdevDesc(BdevRegistry registry, Bdev bdev, boolean writable, BdevEventCallback events) {
        this.registry = registry;
        this.bdev = bdev;
        this.writable = writable;
        this.events = events;
        this.openedOn = io.ustor.reactor.Reactor.current();
    }

    public Bdev bdev() {
        return bdev;
    }

    public boolean writable() {
        return writable;
    }

    public boolean isClosed() {
        return closed;
    }

    /** The reactor the descriptor was opened on (its events run there), or null when opened off the reactors. */
    public io.ustor.reactor.Reactor openedOn() {
        return openedOn;
    }

    BdevEventCallback events() {
        return events;
    }

    /** This reactor's channel of the bdev (created on first use, reference counted). Call on a reactor thread. */
    public BdevChannel getIoChannel() {
        if (closed) {
            throw new IllegalStateException("bdev " + bdev.name() + ": descriptor is closed");
        }
        return bdev.ioDevice().getChannel();
    }

    /** Gives back a channel from {@link #getIoChannel()}, on its reactor. */
    public void putIoChannel(BdevChannel ch) {
        bdev.ioDevice().putChannel(ch);
    }

    /**
     * Claims the bdev for {@code module} (SPDK's exclusive_write claim): other descriptors can no longer open it for
     * writing, and it shows as claimed. Needs a writable descriptor; released by {@link #releaseClaim()} or close.
     */
    public void claim(String module) {
        registry.claim(this, module);
    }

    public void releaseClaim() {
        registry.releaseClaim(this);
    }

    /** Closes the descriptor (and releases its claim); an unregister waiting for it goes on. Idempotent. */
    @Override
    public void close() {
        registry.closeDesc(this);
    }

    // ---- I/O, on the channel's reactor ----

    public int read(BdevChannel ch, MemorySegment buf, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev || buf == null) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.READ, buf, null, 0, offsetBlocks, numBlocks, cb, cbArg);
    }

    /** Reads into {@code iovs[0..iovCount)} in order; the array is not kept (its elements are, until completion). */
    public int readv(BdevChannel ch, MemorySegment[] iovs, int iovCount, long offsetBlocks, long numBlocks,
                     BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.READ, null, iovs, iovCount, offsetBlocks, numBlocks, cb, cbArg);
    }

    /**
     * Reads into pieces of segments: piece {@code i} is {@code iovLengths[i]} bytes of {@code iovs[i]} from
     * {@code iovOffsets[i]} (for callers whose pieces live inside bigger segments, such as guest memory or another
     * request's buffers, without slicing per I/O). The arrays are not kept; their segments must live until completion.
     */
    public int readv(BdevChannel ch, MemorySegment[] iovs, long[] iovOffsets, long[] iovLengths, int iovCount,
                     long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev || iovOffsets == null) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.READ, null, iovs, iovOffsets, iovLengths, iovCount, offsetBlocks, numBlocks, cb,
                cbArg);
    }

    /** Writes from pieces of segments, as {@link #readv(BdevChannel, MemorySegment[], long[], long[], int, long, long, BdevIoCallback, Object)}. */
    public int writev(BdevChannel ch, MemorySegment[] iovs, long[] iovOffsets, long[] iovLengths, int iovCount,
                      long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (!writable) {
            return -Errno.EBADF;
        }
        if (ch.bdev != bdev || iovOffsets == null) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.WRITE, null, iovs, iovOffsets, iovLengths, iovCount, offsetBlocks, numBlocks, cb,
                cbArg);
    }

    /** Compares the blocks with pieces of segments; see the piece form of readv. */
    public int comparev(BdevChannel ch, MemorySegment[] iovs, long[] iovOffsets, long[] iovLengths, int iovCount,
                        long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev || iovOffsets == null) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.COMPARE, null, iovs, iovOffsets, iovLengths, iovCount, offsetBlocks, numBlocks, cb,
                cbArg);
    }

    public int write(BdevChannel ch, MemorySegment buf, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (!writable) {
            return -Errno.EBADF;
        }
        if (ch.bdev != bdev || buf == null) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.WRITE, buf, null, 0, offsetBlocks, numBlocks, cb, cbArg);
    }

    public int writev(BdevChannel ch, MemorySegment[] iovs, int iovCount, long offsetBlocks, long numBlocks,
                      BdevIoCallback cb, Object cbArg) {
        if (!writable) {
            return -Errno.EBADF;
        }
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.WRITE, null, iovs, iovCount, offsetBlocks, numBlocks, cb, cbArg);
    }

    /** Compares the blocks with {@code buf}: fails with status MISCOMPARE (errno EILSEQ) when they differ. */
    public int compare(BdevChannel ch, MemorySegment buf, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev || buf == null) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.COMPARE, buf, null, 0, offsetBlocks, numBlocks, cb, cbArg);
    }

    public int comparev(BdevChannel ch, MemorySegment[] iovs, int iovCount, long offsetBlocks, long numBlocks,
                        BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitData(IoType.COMPARE, null, iovs, iovCount, offsetBlocks, numBlocks, cb, cbArg);
    }

    /**
     * Flushes a range (0 blocks allowed). On a bdev without FLUSH (no volatile write cache, e.g. null) it succeeds
     * without reaching the module.
     */
    public int flush(BdevChannel ch, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (!writable) {
            return -Errno.EBADF;
        }
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitNoData(IoType.FLUSH, offsetBlocks, numBlocks, cb, cbArg);
    }

    public int unmap(BdevChannel ch, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (!writable) {
            return -Errno.EBADF;
        }
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitNoData(IoType.UNMAP, offsetBlocks, numBlocks, cb, cbArg);
    }

    /** Writes zeroes; emulated with writes of a shared zero buffer when the module has no WRITE_ZEROES. */
    public int writeZeroes(BdevChannel ch, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        if (!writable) {
            return -Errno.EBADF;
        }
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitNoData(IoType.WRITE_ZEROES, offsetBlocks, numBlocks, cb, cbArg);
    }

    /** Resets the bdev: holds new requests, waits for those in flight on every channel, then resets the module. */
    public int reset(BdevChannel ch, BdevIoCallback cb, Object cbArg) {
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.submitReset(cb, cbArg);
    }

    /** After -ENOMEM: {@code entry.onRetry()} runs on this channel's reactor once an io is free. */
    public int queueIoWait(BdevChannel ch, BdevIoWaitEntry entry) {
        if (ch.bdev != bdev) {
            return -Errno.EINVAL;
        }
        return ch.queueIoWait(entry);
    }

    @Override
    public String toString() {
        return "bdev " + bdev.name() + " descriptor (" + (writable ? "read-write" : "read-only") + ")";
    }
}
