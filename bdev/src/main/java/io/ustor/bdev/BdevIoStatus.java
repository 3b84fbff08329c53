package io.ustor.bdev;

/** How a {@link BdevIo} ended (SPDK's spdk_bdev_io_status, the ones ustor uses). */
public enum BdevIoStatus {
    /** Still in flight. */
    PENDING,
    SUCCESS,
    /** Failed; {@link BdevIo#errno()} says why (EIO when the module gave no reason). */
    FAILED,
    /** The module was out of resources: the layer resubmits the io later; a user never sees this status. */
    NOMEM,
    /** Aborted (by a reset, or the bdev going away). */
    ABORTED,
    /** COMPARE found different data. */
    MISCOMPARE
}
