package io.ustor.vhost.client;

import io.ustor.bdev.BdevIo;

/**
 * One virtqueue, driver side, split ({@link DriverQueue}) or packed ({@link PackedDriverQueue}): requests go in with
 * {@link #submit}, completions come out of {@link #poll}. One reactor uses a queue at a time.
 */
public interface VirtqueueDriver {
    int index();

    /** Ring entries. */
    int size();

    /** Requests that can be in flight at once. */
    int slots();

    int outstanding();

    int bounceBytes();

    /** Requests submitted so far whose data the back end reached directly, with no bounce copy. Owner only. */
    long directRequests();

    /** Whether this is a packed ring. */
    boolean packed();

    /**
     * Starts {@code io} (sector units of 512 bytes; {@code blockSize} converts): 0, -ENOMEM when no slot is free, or
     * -EINVAL for a request that does not fit a slot.
     */
    int submit(BdevIo io, int blockSize);

    /** Completes what the device returned: the number of requests completed. */
    int poll(int blockSize);

    /** SET_VRING_BASE's value to (re)start a device on this ring. */
    int vringBase();

    /** Offsets in the shared memory of the descriptor area, the driver area and the device area. */
    long descOffset();

    long driverAreaOffset();

    long deviceAreaOffset();
}
