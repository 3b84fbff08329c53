package io.ustor.bdev.delay;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevForwarder;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;

/**
 * A delay bdev's state on one reactor: the base bdev's channel, the completions held back per latency class, and the
 * poller that releases them. The channel is its own callback and poller, so the I/O path allocates nothing.
 */
final class DelayChannel implements BdevIoCallback, Poller {
    private static final int AVG_READ = 0, P99_READ = 1, AVG_WRITE = 2, P99_WRITE = 3;

    private final DelayBdev bdev;
    private final BdevDesc base;
    private final BdevChannel baseChannel;
    private final Reactor reactor;
    private final HeldCompletions[] held = {new HeldCompletions(), new HeldCompletions(), new HeldCompletions(),
            new HeldCompletions()};
    private final PollerHandle poller;
    private int counter; // one in a hundred reads/writes takes the p99 latency

    DelayChannel(DelayBdev bdev, BdevDesc base, Reactor reactor) {
        this.bdev = bdev;
        this.base = base;
        this.reactor = reactor;
        this.baseChannel = base.getIoChannel();
        this.poller = reactor.addPoller("delay " + bdev.name(), this);
    }

    void submit(BdevIo io) {
        int rc = BdevForwarder.forward(base, baseChannel, io, 0, this);
        if (rc != 0) {
            io.completeErrno(rc); // -ENOMEM makes the layer retry later
        }
    }

    @Override
    public void onComplete(BdevIo baseIo, boolean success, Object cbArg) {
        BdevIo io = (BdevIo) cbArg;
        if (!success) {
            BdevForwarder.completeAs(io, baseIo);
            return;
        }
        DelayLatencies l = bdev.latencies();
        int cls;
        long us;
        switch (io.type()) {
            case READ -> {
                boolean tail = ++counter % 100 == 0;
                cls = tail ? P99_READ : AVG_READ;
                us = tail ? l.p99ReadUs() : l.avgReadUs();
            }
            case WRITE -> {
                boolean tail = ++counter % 100 == 0;
                cls = tail ? P99_WRITE : AVG_WRITE;
                us = tail ? l.p99WriteUs() : l.avgWriteUs();
            }
            default -> {
                io.complete(BdevIoStatus.SUCCESS); // as SPDK: only reads and writes are delayed
                return;
            }
        }
        held[cls].add(io, io.submittedNanos() + us * 1000);
    }

    @Override
    public int poll() {
        long now = reactor.now();
        int done = 0;
        for (HeldCompletions q : held) {
            for (BdevIo io; (io = q.pollDue(now)) != null; ) {
                io.complete(BdevIoStatus.SUCCESS);
                done++;
            }
        }
        return done;
    }

    /** Completes everything still held (the channel is going away). */
    void close() {
        poller.unregister();
        for (HeldCompletions q : held) {
            for (BdevIo io; (io = q.take()) != null; ) {
                io.complete(BdevIoStatus.SUCCESS);
            }
        }
        base.putIoChannel(baseChannel);
    }
}
