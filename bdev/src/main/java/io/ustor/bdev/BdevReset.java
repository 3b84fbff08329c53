package io.ustor.bdev;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One reset of a bdev: freeze every channel (new requests are held), wait until none has requests in flight, pass the
 * reset to the module (when it has one), unfreeze every channel, then call the user back. Runs as messages between
 * reactors; allocates (resets are rare).
 */
final class BdevReset {
    private final Bdev bdev;
    private final BdevChannel origin;
    private final BdevIo io;
    /** Channels still draining, plus one until every channel was visited. */
    private final AtomicInteger pending = new AtomicInteger(1);

    BdevReset(Bdev bdev, BdevChannel origin, BdevIo io) {
        this.bdev = bdev;
        this.origin = origin;
        this.io = io;
        io.resetRef = this;
    }

    /** On the origin reactor, when this reset's turn comes. */
    void start() {
        bdev.ioDevice().forEachChannel((r, ch) -> ch.freeze(this), this::oneDrained);
    }

    /** Starts on the origin reactor (the previous reset may have ended on another). */
    void startOnOrigin() {
        if (origin.reactor.isCurrent()) {
            start();
        } else if (!origin.reactor.submit(this::start)) {
            throw new IllegalStateException("bdev " + bdev.name() + ": reset cannot reach " + origin.reactor.name());
        }
    }

    /** A channel had requests in flight: wait for it too. */
    void expectDrain() {
        pending.incrementAndGet();
    }

    /** On a channel's reactor: its last request in flight finished. */
    void channelDrained() {
        oneDrained();
    }

    private void oneDrained() {
        if (pending.decrementAndGet() == 0) {
            if (origin.reactor.isCurrent()) {
                drained();
            } else if (!origin.reactor.submit(this::drained)) {
                throw new IllegalStateException("bdev " + bdev.name() + ": reset cannot reach " + origin.reactor.name());
            }
        }
    }

    /** On the origin reactor: nothing in flight anywhere. */
    private void drained() {
        if (bdev.supportsIoType(IoType.RESET)) {
            origin.dispatchReset(io);
        } else {
            io.status = BdevIoStatus.SUCCESS;
            moduleDone();
        }
    }

    /** On the origin reactor: the module finished its reset. */
    void moduleDone() {
        bdev.ioDevice().forEachChannel((r, ch) -> ch.unfreeze(), this::done);
    }

    private void done() {
        origin.finish(io);
        bdev.resetDone(this);
    }
}
