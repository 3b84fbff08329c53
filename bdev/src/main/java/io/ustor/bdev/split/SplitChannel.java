package io.ustor.bdev.split;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevForwarder;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;

/** A part's state on one reactor: the base's channel; requests go to the base shifted by the part's offset. */
final class SplitChannel implements BdevIoCallback {
    private final BdevDesc base;
    private final BdevChannel baseChannel;
    private final long offsetBlocks;

    SplitChannel(BdevDesc base, long offsetBlocks) {
        this.base = base;
        this.baseChannel = base.getIoChannel();
        this.offsetBlocks = offsetBlocks;
    }

    void submit(BdevIo io) {
        int rc = BdevForwarder.forward(base, baseChannel, io, offsetBlocks, this);
        if (rc != 0) {
            io.completeErrno(rc); // -ENOMEM makes the layer retry later
        }
    }

    @Override
    public void onComplete(BdevIo baseIo, boolean success, Object cbArg) {
        BdevForwarder.completeAs((BdevIo) cbArg, baseIo);
    }

    void close() {
        base.putIoChannel(baseChannel);
    }
}
