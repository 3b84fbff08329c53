package io.ustor.bdev;

/** The kinds of block I/O the layer accepts (SPDK's spdk_bdev_io_type, the ones ustor uses). */
public enum IoType {
    READ, WRITE, FLUSH, UNMAP, WRITE_ZEROES, RESET, COMPARE;

    /** The name SPDK uses in bdev_get_bdevs' supported_io_types and in stats, e.g. "write_zeroes". */
    public String spdkName() {
        return SPDK_NAMES[ordinal()];
    }

    private static final String[] SPDK_NAMES = {"read", "write", "flush", "unmap", "write_zeroes", "reset", "compare"};
    static final IoType[] VALUES = values();
}
