package io.ustor.env.uring;

import java.lang.foreign.MemorySegment;

/**
 * An asynchronous file I/O queue owned by one thread: prepare operations, submit them in one system call per batch,
 * reap completions by polling. Implemented by {@link IoUring} and by {@code io.ustor.env.aio.LinuxAio} (the fallback
 * where io_uring is unavailable).
 *
 * <p>Every method except {@link #close()} is for the owning thread only and allocates nothing. {@code prep*} returns
 * a non-negative slot number when the operation was queued, or {@code -EAGAIN} when the queue is full (reap, then
 * retry), {@code -EINVAL} for arguments the queue cannot take (too many iovecs, heap segments). Buffers must be
 * native memory and stay untouched until the completion arrives. Completions come only from {@link #reap} or
 * {@link #reapWait}, never from inside a {@code prep*} or {@link #submit} call.
 */
public interface FileIoQueue extends AutoCloseable {
    /** "io_uring" or "linux-aio". */
    String engine();

    /** How many operations may be outstanding (prepared, submitted and not yet reaped) at once. */
    int depth();

    /** Most iovecs one vectored operation may carry. */
    int maxIovs();

    /** Operations prepared and not yet reaped. */
    int outstanding();

    /** Operations prepared and not yet handed to the kernel by {@link #submit}. */
    int unsubmitted();

    /** read(2)-like: {@code len} bytes at file {@code offset} into native memory at {@code addr}. */
    int prepRead(int fd, long addr, int len, long offset, long userData);

    /** write(2)-like: {@code len} bytes from native memory at {@code addr} to file {@code offset}. */
    int prepWrite(int fd, long addr, int len, long offset, long userData);

    /** preadv(2)-like: into the first {@code iovCount} segments of {@code iovs}, in order. */
    int prepReadv(int fd, MemorySegment[] iovs, int iovCount, long offset, long userData);

    /** pwritev(2)-like: from the first {@code iovCount} segments of {@code iovs}, in order. */
    int prepWritev(int fd, MemorySegment[] iovs, int iovCount, long offset, long userData);

    /**
     * preadv(2)-like from a caller-owned native {@code struct iovec} array of {@code iovCount} entries at
     * {@code iovecAddress} (16 bytes each: base, length). The array must stay valid until {@link #submit} has
     * returned (the kernel copies it then); {@link #maxIovs()} does not apply, IOV_MAX (1024) does.
     */
    int prepReadv(int fd, long iovecAddress, int iovCount, long offset, long userData);

    /** pwritev(2)-like from a caller-owned iovec array; see {@link #prepReadv(int, long, int, long, long)}. */
    int prepWritev(int fd, long iovecAddress, int iovCount, long offset, long userData);

    /** fsync(2), or fdatasync(2) when {@code dataSync}. */
    int prepFsync(int fd, boolean dataSync, long userData);

    /** fallocate(2) with a {@code FALLOC_FL_*} mode (punch hole, zero range, ...). */
    int prepFallocate(int fd, int mode, long offset, long length, long userData);

    /** An operation that does nothing and completes with result 0. */
    int prepNop(long userData);

    /**
     * Hands everything prepared to the kernel in one system call. Returns how many were submitted (0 when the kernel
     * is busy: they stay queued and the next call retries), or {@code -errno} on a failure of the queue itself.
     */
    int submit();

    /**
     * Submits what is prepared, then passes up to {@code max} finished operations to {@code handler} without
     * blocking. Returns how many it passed.
     */
    int reap(CompletionHandler handler, int max);

    /**
     * Submits what is prepared and blocks until at least {@code minComplete} operations (at most
     * {@link #outstanding()}) have finished, passing them all to {@code handler}. For control paths (reset, close,
     * tests), not for a reactor loop. Returns how many it passed, or {@code -errno}.
     */
    int reapWait(CompletionHandler handler, int minComplete);

    /** Waits for outstanding operations (their completions are dropped), then releases the queue. Idempotent. */
    @Override
    void close();
}
