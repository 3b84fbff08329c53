package io.ustor.bdev;

/**
 * Settings of a {@link BdevRegistry} (the part of SPDK's bdev_set_options ustor has).
 *
 * @param ioPoolSize       {@link BdevIo}s preallocated per channel (per bdev and reactor); submits past it get -ENOMEM
 * @param zeroBufferBytes  size of the shared zero buffer used to emulate WRITE_ZEROES (a multiple of 64 KiB)
 */
public record BdevOptions(int ioPoolSize, int zeroBufferBytes) {
    public static final int DEFAULT_IO_POOL_SIZE = 1024;
    public static final int DEFAULT_ZERO_BUFFER_BYTES = 1 << 20;

    public BdevOptions {
        if (ioPoolSize < 1) {
            throw new IllegalArgumentException("ioPoolSize must be >= 1, not " + ioPoolSize);
        }
        if (zeroBufferBytes < 65536 || zeroBufferBytes % 65536 != 0) {
            throw new IllegalArgumentException("zeroBufferBytes must be a positive multiple of 64 KiB, not " + zeroBufferBytes);
        }
    }

    public static BdevOptions defaults() {
        return new BdevOptions(DEFAULT_IO_POOL_SIZE, DEFAULT_ZERO_BUFFER_BYTES);
    }

    public BdevOptions withIoPoolSize(int n) {
        return new BdevOptions(n, zeroBufferBytes);
    }

    public BdevOptions withZeroBufferBytes(int n) {
        return new BdevOptions(ioPoolSize, n);
    }
}
