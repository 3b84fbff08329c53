package io.ustor.bdev.error;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevForwarder;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;

/**
 * An error bdev's state on one reactor: the base's channel, the I/Os in flight (for queue_depth), the ones held by a
 * PENDING error, and which reads a CORRUPT_DATA error hit (corrupted when they come back).
 */
final class ErrorChannel implements BdevIoCallback {
    private record CorruptRead(BdevIo io, Injection hit) {
    }

    private final ErrorBdev bdev;
    private final BdevDesc base;
    private final BdevChannel baseChannel;
    private final ArrayDeque<BdevIo> held = new ArrayDeque<>();
    /** Reads a CORRUPT_DATA error hit, with the injection that hit each (its offset and value apply on return). */
    private final ArrayDeque<CorruptRead> corrupting = new ArrayDeque<>();
    private int outstanding;

    ErrorChannel(ErrorBdev bdev, BdevDesc base) {
        this.bdev = bdev;
        this.base = base;
        this.baseChannel = base.getIoChannel();
    }

    void submit(BdevIo io) {
        // A reset is never hit: it is how a test gets back what PENDING errors hold.
        Injection hit = io.type() == IoType.RESET ? null : bdev.armed(io.type());
        Injection corrupt = null;
        if (hit != null && hit.take(outstanding + held.size() + 1)) {
            switch (hit.type) {
                case FAILURE -> {
                    io.completeErrno(Errno.EIO);
                    return;
                }
                case NOMEM -> {
                    io.completeErrno(-Errno.ENOMEM); // the layer queues it and resubmits it
                    return;
                }
                case PENDING -> {
                    held.add(io);
                    return;
                }
                case CORRUPT_DATA -> {
                    if (io.type() == IoType.WRITE) {
                        flip(io, hit); // the base stores what the caller did not write
                    } else if (io.type() == IoType.READ) {
                        corrupt = hit;
                    }
                }
            }
        }
        if (!forward(io)) {
            return;
        }
        if (corrupt != null) {
            corrupting.add(new CorruptRead(io, corrupt)); // allocates, on the injection path only
        }
    }

    @Override
    public void onComplete(BdevIo baseIo, boolean success, Object cbArg) {
        BdevIo io = (BdevIo) cbArg;
        outstanding--;
        if (!corrupting.isEmpty()) {
            // Completions may come back in any order: find this one (the list holds only corrupted reads).
            for (java.util.Iterator<CorruptRead> it = corrupting.iterator(); it.hasNext(); ) {
                CorruptRead r = it.next();
                if (r.io() == io) {
                    it.remove();
                    if (success) {
                        flip(io, r.hit());
                    }
                    break;
                }
            }
        }
        BdevForwarder.completeAs(io, baseIo);
    }

    /** XORs the byte at the injection's offset into the I/O's data (wrapped to its length) with its value. */
    private static void flip(BdevIo io, Injection hit) {
        long total = 0;
        for (int i = 0; i < io.iovCount(); i++) {
            total += io.iovLength(i);
        }
        if (total == 0) {
            return;
        }
        long at = hit.corruptOffset % total;
        for (int i = 0; i < io.iovCount(); i++) {
            long len = io.iovLength(i);
            if (at < len) {
                MemorySegment s = io.iov(i);
                long off = io.iovOffset(i) + at;
                s.set(ValueLayout.JAVA_BYTE, off, (byte) (s.get(ValueLayout.JAVA_BYTE, off) ^ hit.corruptValue));
                return;
            }
            at -= len;
        }
    }

    /** Passes {@code io} to the base; false (and {@code io} ended) when the base refused it. */
    private boolean forward(BdevIo io) {
        outstanding++;
        int rc = BdevForwarder.forward(base, baseChannel, io, 0, this);
        if (rc != 0) {
            outstanding--;
            io.completeErrno(rc); // -ENOMEM makes the layer retry later
            return false;
        }
        return true;
    }

    /** The held requests go on to the base. */
    void resumeHeld() {
        for (BdevIo io; (io = held.poll()) != null; ) {
            forward(io);
        }
    }

    void abortHeld() {
        for (BdevIo io; (io = held.poll()) != null; ) {
            io.complete(BdevIoStatus.ABORTED);
        }
    }

    void close() {
        abortHeld();
        base.putIoChannel(baseChannel);
    }
}
