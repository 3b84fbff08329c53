package io.ustor.bdev;

import java.lang.foreign.MemorySegment;

/**
 * One block I/O request, pooled per channel (a user never creates one). Users see it in their
 * {@link BdevIoCallback}; modules see it in {@link Bdev#submit} and finish it with {@link #complete} or
 * {@link #completeErrno}.
 *
 * <p>Data lies in {@link #iovCount()} pieces: piece {@code i} is bytes {@link #iovOffset(int) iovOffset(i)} ..
 * {@code + iovLength(i)} of segment {@link #iov(int) iov(i)} (a module must honour offset and length: requests split
 * by the layer point into the middle of the caller's buffers, and a caller's buffer may be longer than the request).
 * The pieces add up to exactly {@code numBlocks * blockSize} bytes.
 *
 * <p>Everything here runs on the owning channel's reactor and allocates nothing.
 */
public final class BdevIo {
    private static final int INITIAL_IOVS = 4;

    final BdevChannel channel;
    IoType type;
    long offsetBlocks;
    long numBlocks;
    MemorySegment[] iovs = new MemorySegment[INITIAL_IOVS];
    long[] iovOffsets = new long[INITIAL_IOVS];
    long[] iovLengths = new long[INITIAL_IOVS];
    int iovCount;
    BdevIoStatus status = BdevIoStatus.PENDING;
    int errno;
    BdevIoCallback cb;
    Object cbArg;
    long startNanos;
    /** Intrusive link for the channel's deferred / nomem / frozen lists. */
    BdevIo next;
    boolean inPool;
    /** The reset this io carries, for a RESET. */
    BdevReset resetRef;

    // Split state (of a parent), and the parent of a child.
    BdevIo parent;
    int outstandingChildren;
    long splitNextBlock;
    long splitRemaining;
    int splitIov;
    long splitIovOffset;
    boolean splitWaiting;
    boolean zeroEmulation;
    /** A FLUSH of a bdev without one: succeeds without the module. */
    boolean noop;
    final BdevIoWaitEntry splitRetry = this::retrySplit;

    BdevIo(BdevChannel channel) {
        this.channel = channel;
    }

    /** The I/O type. A child of an emulated WRITE_ZEROES is a WRITE. */
    public IoType type() {
        return type;
    }

    public Bdev bdev() {
        return channel.bdev;
    }

    /** The channel (and so the reactor) this io belongs to. */
    public BdevChannel channel() {
        return channel;
    }

    public BdevIoStatus status() {
        return status;
    }

    /** True once completed with SUCCESS. */
    public boolean isSuccess() {
        return status == BdevIoStatus.SUCCESS;
    }

    /** The positive errno of a failed io (EIO when the module gave none; EILSEQ for a miscompare); 0 otherwise. */
    public int errno() {
        return errno;
    }

    public long offsetBlocks() {
        return offsetBlocks;
    }

    public long numBlocks() {
        return numBlocks;
    }

    /** {@code numBlocks * blockSize}. */
    public long lengthBytes() {
        return numBlocks * channel.bdev.blockSize();
    }

    /** When the user submitted the io (a piece of a split io: its parent), on the reactor's loop clock (ns). */
    public long submittedNanos() {
        return startNanos;
    }

    /** The argument given with the callback. */
    public Object cbArg() {
        return cbArg;
    }

    /** Pieces of data (0 for flush, unmap, write_zeroes, reset). */
    public int iovCount() {
        return iovCount;
    }

    /** The segments of the pieces (valid up to {@link #iovCount()}); use with {@link #iovOffset} / {@link #iovLength}. */
    public MemorySegment[] iovs() {
        return iovs;
    }

    public MemorySegment iov(int i) {
        return iovs[i];
    }

    /** Where piece {@code i} starts in {@link #iov(int) iov(i)}. */
    public long iovOffset(int i) {
        return iovOffsets[i];
    }

    /** Bytes in piece {@code i}. */
    public long iovLength(int i) {
        return iovLengths[i];
    }

    /**
     * Where each piece starts in its segment (valid up to {@link #iovCount()}), for passing the pieces on with
     * {@link BdevDesc#readv(BdevChannel, MemorySegment[], long[], long[], int, long, long, BdevIoCallback, Object)}.
     */
    public long[] iovOffsets() {
        return iovOffsets;
    }

    /** Bytes of each piece (valid up to {@link #iovCount()}). */
    public long[] iovLengths() {
        return iovLengths;
    }

    /** Native address of piece {@code i} (for a module that hands addresses to the kernel or a device). */
    public long iovAddress(int i) {
        return iovs[i].address() + iovOffsets[i];
    }

    /** Module side: copies {@code lengthBytes()} bytes from {@code src} at {@code srcOffset} into the pieces (a read). */
    public void copyIntoIovs(MemorySegment src, long srcOffset) {
        for (int i = 0; i < iovCount; i++) {
            long n = iovLengths[i];
            MemorySegment.copy(src, srcOffset, iovs[i], iovOffsets[i], n);
            srcOffset += n;
        }
    }

    /** Module side: copies the pieces into {@code dst} at {@code dstOffset} (a write). */
    public void copyFromIovs(MemorySegment dst, long dstOffset) {
        for (int i = 0; i < iovCount; i++) {
            long n = iovLengths[i];
            MemorySegment.copy(iovs[i], iovOffsets[i], dst, dstOffset, n);
            dstOffset += n;
        }
    }

    /** Module side: true when the pieces equal {@code lengthBytes()} bytes of {@code other} at {@code offset}. */
    public boolean iovsEqual(MemorySegment other, long offset) {
        for (int i = 0; i < iovCount; i++) {
            long n = iovLengths[i];
            if (MemorySegment.mismatch(iovs[i], iovOffsets[i], iovOffsets[i] + n, other, offset, offset + n) >= 0) {
                return false;
            }
            offset += n;
        }
        return true;
    }

    /**
     * Module side: ends the io with {@code status}, inline from {@link Bdev#submit} or later on the same reactor. A
     * FAILED io gets errno EIO (use {@link #completeErrno} to give a reason); NOMEM makes the layer resubmit it later.
     */
    public void complete(BdevIoStatus status) {
        if (status == BdevIoStatus.SUCCESS) { // the common case, without the switch's lookup table
            channel.moduleComplete(this, status, 0);
            return;
        }
        if (status == BdevIoStatus.PENDING) {
            throw new IllegalArgumentException("bdev " + channel.bdev.name() + ": cannot complete " + this + " as PENDING");
        }
        int e = switch (status) {
            case SUCCESS, NOMEM, PENDING -> 0;
            case MISCOMPARE -> io.ustor.env.Errno.EILSEQ;
            case ABORTED -> io.ustor.env.Errno.ECANCELED;
            default -> io.ustor.env.Errno.EIO;
        };
        channel.moduleComplete(this, status, e);
    }

    /** Module side: ends the io with 0 (success) or an errno (either sign; ENOMEM means resubmit later). */
    public void completeErrno(int errno) {
        if (errno == 0) {
            channel.moduleComplete(this, BdevIoStatus.SUCCESS, 0);
            return;
        }
        int e = errno < 0 ? -errno : errno;
        channel.moduleComplete(this, e == io.ustor.env.Errno.ENOMEM ? BdevIoStatus.NOMEM : BdevIoStatus.FAILED, e);
    }

    // ---- layer internals ----

    void init(IoType type, long offsetBlocks, long numBlocks, BdevIoCallback cb, Object cbArg) {
        this.type = type;
        this.offsetBlocks = offsetBlocks;
        this.numBlocks = numBlocks;
        this.cb = cb;
        this.cbArg = cbArg;
        this.status = BdevIoStatus.PENDING;
        this.errno = 0;
        this.iovCount = 0;
        this.parent = null;
        this.outstandingChildren = 0;
        this.splitRemaining = 0;
        this.splitWaiting = false;
        this.zeroEmulation = false;
        this.noop = false;
    }

    /** Appends a piece, growing the arrays only the first time this io needs more pieces. */
    void addIov(MemorySegment seg, long offset, long length) {
        int i = iovCount;
        if (i == iovs.length) {
            growIovs(i * 2);
        }
        iovs[i] = seg;
        iovOffsets[i] = offset;
        iovLengths[i] = length;
        iovCount = i + 1;
    }

    private void growIovs(int n) {
        iovs = java.util.Arrays.copyOf(iovs, n);
        iovOffsets = java.util.Arrays.copyOf(iovOffsets, n);
        iovLengths = java.util.Arrays.copyOf(iovLengths, n);
    }

    /** Drops references to the caller's objects when the io goes back to the pool. */
    void clear() {
        for (int i = 0; i < iovCount; i++) {
            iovs[i] = null;
        }
        iovCount = 0;
        cb = null;
        cbArg = null;
        parent = null;
        next = null;
    }

    private void retrySplit() {
        channel.retrySplit(this);
    }

    @Override
    public String toString() {
        return "BdevIo[" + channel.bdev.name() + " " + type + " " + offsetBlocks + "+" + numBlocks + " " + status + "]";
    }
}
