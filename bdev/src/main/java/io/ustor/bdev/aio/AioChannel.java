package io.ustor.bdev.aio;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.env.Posix;
import io.ustor.env.uring.CompletionHandler;
import io.ustor.env.uring.FileIoQueue;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An {@link AioBdev}'s state on one reactor: its own queue (io_uring or Linux AIO), a poller on that reactor that
 * submits what was prepared since the last loop (one system call per batch) and reaps completions, and a table of
 * requests in flight indexed by the user data given to the kernel. Requests whose buffers O_DIRECT cannot take go
 * through a {@link BouncePool} buffer. Runs on its reactor only; allocates nothing per I/O.
 */
final class AioChannel implements Poller, CompletionHandler {
    private static final System.Logger LOG = System.getLogger(AioChannel.class.getName());
    /** Requests in flight per channel (SPDK's aio default queue depth). */
    static final int DEPTH = 128;
    /** iovecs per request; requests with more pieces are bounced. */
    static final int MAX_IOVS = 32;
    static final int BOUNCE_BUFFERS = 4;
    private static final long IOVEC = 16;

    private final AioBdev bdev;
    private final String name;
    private final int fd;
    private final int blockSize;
    /** Address and length alignment O_DIRECT needs, minus one (0 for buffered I/O). */
    private final long alignMask;
    private final FileIoQueue queue;
    private final PollerHandle poller;
    private final Arena arena = Arena.ofShared();
    /** Per request slot: MAX_IOVS iovecs (the kernel copies them at submission). */
    private final MemorySegment iovecs;
    private final long iovecBase;
    private final BouncePool bounces;

    private final BdevIo[] ios = new BdevIo[DEPTH];
    private final int[] bounceOf = new int[DEPTH];
    private final int[] free = new int[DEPTH];
    private int freeCount;
    /** A RESET waiting for this channel's requests to finish. */
    private BdevIo reset;
    private boolean reapErrorLogged;

    AioChannel(AioBdev bdev, Reactor reactor, FileEngine engine) {
        this.bdev = bdev;
        this.name = "bdev " + bdev.name() + " on " + reactor.name();
        this.fd = bdev.fd();
        this.blockSize = bdev.blockSize();
        this.alignMask = bdev.memoryAlignment() - 1L;
        this.queue = engine.open(DEPTH, 1);
        try {
            this.iovecs = arena.allocate(IOVEC * MAX_IOVS * DEPTH, 64);
            this.iovecBase = iovecs.address();
            this.bounces = new BouncePool(name, BOUNCE_BUFFERS, (long) bdev.maxTransferBlocks() * blockSize);
            for (int i = 0; i < DEPTH; i++) {
                free[i] = DEPTH - 1 - i;
                bounceOf[i] = -1;
            }
            freeCount = DEPTH;
            this.poller = reactor.addPoller(name, this);
        } catch (RuntimeException e) {
            queue.close();
            arena.close();
            throw e;
        }
    }

    /** The engine of this channel's queue ("io_uring" or "linux-aio"). */
    String engine() {
        return queue.engine();
    }

    int inFlight() {
        return DEPTH - freeCount;
    }

    long bounced() {
        return bounces.uses();
    }

    // ---- submission ----

    void submit(BdevIo io) {
        switch (io.type()) {
            case READ, COMPARE -> submitData(io, false);
            case WRITE -> submitData(io, true);
            case FLUSH -> submitNoData(io, FLUSH);
            case UNMAP -> submitNoData(io, UNMAP);
            case WRITE_ZEROES -> submitNoData(io, ZERO);
            case RESET -> submitReset(io);
            default -> io.completeErrno(Errno.EOPNOTSUPP);
        }
    }

    private static final int FLUSH = 0, UNMAP = 1, ZERO = 2;

    private void submitData(BdevIo io, boolean write) {
        int c = takeSlot(io);
        if (c < 0) {
            io.complete(BdevIoStatus.NOMEM);
            return;
        }
        long offset = io.offsetBlocks() * blockSize;
        long bytes = io.lengthBytes();
        int n = io.iovCount();
        int rc;
        // The kernel gets the caller's memory when O_DIRECT can take every piece and there are not too many; a
        // COMPARE always reads into a buffer of ours.
        boolean direct = n <= MAX_IOVS && io.type() != IoType.COMPARE;
        for (int i = 0; direct && i < n; i++) {
            direct = ((io.iovAddress(i) | io.iovLength(i)) & alignMask) == 0;
        }
        if (direct) {
            if (n == 1) {
                rc = write ? queue.prepWrite(fd, io.iovAddress(0), (int) bytes, offset, c)
                        : queue.prepRead(fd, io.iovAddress(0), (int) bytes, offset, c);
            } else {
                long base = IOVEC * MAX_IOVS * c;
                for (int i = 0; i < n; i++) {
                    iovecs.set(JAVA_LONG, base + IOVEC * i, io.iovAddress(i));
                    iovecs.set(JAVA_LONG, base + IOVEC * i + 8, io.iovLength(i));
                }
                rc = write ? queue.prepWritev(fd, iovecBase + base, n, offset, c)
                        : queue.prepReadv(fd, iovecBase + base, n, offset, c);
            }
        } else {
            int b = bounces.take();
            if (b < 0) {
                releaseSlot(c);
                io.complete(BdevIoStatus.NOMEM);
                return;
            }
            bounceOf[c] = b;
            if (io.type() != IoType.COMPARE) {
                bdev.bounced.increment();
            }
            MemorySegment buf = bounces.buffer(b);
            if (write) {
                io.copyFromIovs(buf, 0);
            }
            rc = write ? queue.prepWrite(fd, buf.address(), (int) bytes, offset, c)
                    : queue.prepRead(fd, buf.address(), (int) bytes, offset, c);
        }
        if (rc < 0) {
            failSubmit(io, c, rc);
        }
    }

    private void submitNoData(BdevIo io, int op) {
        int c = takeSlot(io);
        if (c < 0) {
            io.complete(BdevIoStatus.NOMEM);
            return;
        }
        long offset = io.offsetBlocks() * blockSize;
        long bytes = io.numBlocks() * blockSize;
        int rc = switch (op) {
            case FLUSH -> queue.prepFsync(fd, true, c);
            case UNMAP -> queue.prepFallocate(fd, Posix.FALLOC_FL_PUNCH_HOLE | Posix.FALLOC_FL_KEEP_SIZE, offset, bytes, c);
            default -> queue.prepFallocate(fd, Posix.FALLOC_FL_ZERO_RANGE | Posix.FALLOC_FL_KEEP_SIZE, offset, bytes, c);
        };
        if (rc < 0) {
            failSubmit(io, c, rc);
        }
    }

    /** The layer drains every channel before a reset reaches the module; finish once this one is idle too. */
    private void submitReset(BdevIo io) {
        if (inFlight() == 0) {
            io.complete(BdevIoStatus.SUCCESS);
        } else {
            reset = io;
        }
    }

    private void failSubmit(BdevIo io, int c, int rc) {
        releaseSlot(c);
        if (rc == -Errno.EAGAIN) {
            io.complete(BdevIoStatus.NOMEM); // queue full: the layer resubmits later
        } else {
            io.completeErrno(rc);
        }
    }

    private int takeSlot(BdevIo io) {
        if (freeCount == 0) {
            return -1;
        }
        int c = free[--freeCount];
        ios[c] = io;
        return c;
    }

    private void releaseSlot(int c) {
        ios[c] = null;
        int b = bounceOf[c];
        if (b >= 0) {
            bounces.put(b);
            bounceOf[c] = -1;
        }
        free[freeCount++] = c;
    }

    // ---- completion ----

    /** Submits what this loop prepared and reaps; busy while requests are in flight, so the reactor keeps polling. */
    @Override
    public int poll() {
        int n = queue.reap(this, DEPTH);
        if (n < 0 && !reapErrorLogged) {
            reapErrorLogged = true;
            LOG.log(System.Logger.Level.ERROR, "{0}: {1} submit/reap failed: {2}", name, queue.engine(), Errno.name(-n));
        }
        return n > 0 ? n : (freeCount < DEPTH ? 1 : 0);
    }

    @Override
    public void onCompletion(long userData, int result, int flags) {
        int c = (int) userData;
        BdevIo io = ios[c];
        int b = bounceOf[c];
        int errno = 0;
        boolean miscompare = false;
        if (result < 0) {
            errno = -result;
        } else if (io.iovCount() > 0 && result != io.lengthBytes()) {
            errno = Errno.EIO; // short transfer: the file shrank under us, or the device ended early
        } else if (b >= 0) {
            MemorySegment buf = bounces.buffer(b);
            if (io.type() == IoType.READ) {
                io.copyIntoIovs(buf, 0);
            } else if (io.type() == IoType.COMPARE) {
                miscompare = !io.iovsEqual(buf, 0);
            }
        }
        releaseSlot(c);
        if (miscompare) {
            io.complete(BdevIoStatus.MISCOMPARE);
        } else {
            io.completeErrno(errno);
        }
        if (reset != null && inFlight() == 0) {
            BdevIo r = reset;
            reset = null;
            r.complete(BdevIoStatus.SUCCESS);
        }
    }

    // ---- teardown ----

    void close() {
        poller.unregister();
        if (inFlight() > 0) {
            LOG.log(System.Logger.Level.WARNING, "{0}: channel destroyed with {1} requests in flight; waiting for them",
                    name, Integer.toString(inFlight()));
        }
        queue.close();
        bounces.close();
        arena.close();
    }
}
