/**
 * The block device layer.
 *
 * <ul>
 * <li>{@link io.ustor.bdev.BdevRegistry}: one per daemon. Bdevs by name, alias or UUID; {@code open} gives a
 * {@link io.ustor.bdev.BdevDesc} (read-only or read-write, with a {@link io.ustor.bdev.BdevEventCallback} for REMOVE
 * and RESIZE); claims; {@code unregister} tells open descriptors REMOVE, waits for them to close and for every channel
 * to go, then destructs. {@code describe}/{@code iostat} give SPDK's bdev_get_bdevs / bdev_get_iostat shapes.</li>
 * <li>{@link io.ustor.bdev.BdevChannel}: per bdev and reactor. Holds the module's channel, a preallocated pool of
 * {@link io.ustor.bdev.BdevIo} ({@link io.ustor.bdev.BdevOptions#ioPoolSize()}), the io-wait queue, statistics and
 * a poller that delivers completions a module made inline, so a user callback never runs inside the submit call
 * that caused it.</li>
 * <li>I/O through {@link io.ustor.bdev.BdevDesc}: returns 0 or -errno, completes through a
 * {@link io.ustor.bdev.BdevIoCallback} on the same reactor; nothing allocates per I/O. The layer validates,
 * splits at {@link io.ustor.bdev.Bdev#maxTransferBlocks()} and {@link io.ustor.bdev.Bdev#optimalIoBoundaryBlocks()}
 * (splitting the caller's pieces by offset and length, never by slicing), emulates WRITE_ZEROES with writes of a
 * shared zero buffer, resubmits ios a module answered NOMEM, and counts statistics.</li>
 * <li>Module SPI in {@link io.ustor.bdev.Bdev}. A module reads an io's data as pieces
 * ({@code iov(i)}, {@code iovOffset(i)}, {@code iovLength(i)} or {@code iovAddress(i)}), never as whole segments.</li>
 * </ul>
 * Modules: {@code io.ustor.bdev.malloc.MallocBdev}, {@code io.ustor.bdev.nullbdev.NullBdev},
 * {@code io.ustor.bdev.aio.AioBdev}.
 */
package io.ustor.bdev;
