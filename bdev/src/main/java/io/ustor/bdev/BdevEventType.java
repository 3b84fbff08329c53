package io.ustor.bdev;

/** What happened to an open bdev (SPDK's spdk_bdev_event_type). */
public enum BdevEventType {
    /** The bdev is being unregistered (deleted or hot-removed): stop I/O, put channels, close the descriptor. */
    REMOVE,
    /** The bdev's size changed; {@link Bdev#numBlocks()} has the new size. */
    RESIZE
}
