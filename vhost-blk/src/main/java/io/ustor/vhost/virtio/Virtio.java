package io.ustor.vhost.virtio;

/** virtio 1.2 constants: feature bits, split- and packed-ring layout and flags, virtio-blk requests and status. */
public final class Virtio {
    // Device-independent feature bits.
    public static final int F_INDIRECT_DESC = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32, F_RING_PACKED = 34;
    // virtio-blk feature bits.
    public static final int BLK_F_SIZE_MAX = 1, BLK_F_SEG_MAX = 2, BLK_F_GEOMETRY = 4, BLK_F_RO = 5, BLK_F_BLK_SIZE = 6,
            BLK_F_FLUSH = 9, BLK_F_TOPOLOGY = 10, BLK_F_CONFIG_WCE = 11, BLK_F_MQ = 12, BLK_F_DISCARD = 13,
            BLK_F_WRITE_ZEROES = 14;

    // Split ring: descriptor flags and layout.
    public static final int DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4;
    public static final int DESC_SIZE = 16;
    public static final int AVAIL_F_NO_INTERRUPT = 1, USED_F_NO_NOTIFY = 1;
    public static final int MAX_QUEUE_SIZE = 32768;

    // Packed ring (virtio 1.2 2.8): descriptor flags beyond the split ones, event suppression flags.
    public static final int PACKED_DESC_F_AVAIL = 1 << 7, PACKED_DESC_F_USED = 1 << 15;
    public static final int RING_EVENT_FLAGS_ENABLE = 0, RING_EVENT_FLAGS_DISABLE = 1, RING_EVENT_FLAGS_DESC = 2;
    /** Bytes of a packed ring's driver and device event suppression structures. */
    public static final int EVENT_SUPPRESS_BYTES = 4;

    /** vhost's VHOST_F_LOG_ALL feature bit: the back end logs its guest-memory writes for live migration. */
    public static final int F_LOG_ALL = 26;
    /** SET_VRING_ADDR flag: log writes to this ring's used ring at log_guest_addr. */
    public static final int VRING_F_LOG = 1;
    /** Dirty log page (VHOST_LOG_PAGE). */
    public static final int LOG_PAGE_SHIFT = 12;

    // virtio-blk requests.
    public static final int BLK_T_IN = 0, BLK_T_OUT = 1, BLK_T_FLUSH = 4, BLK_T_GET_ID = 8, BLK_T_DISCARD = 11,
            BLK_T_WRITE_ZEROES = 13;
    public static final int BLK_S_OK = 0, BLK_S_IOERR = 1, BLK_S_UNSUPP = 2;
    public static final int BLK_ID_BYTES = 20, BLK_REQ_HEADER = 16, BLK_DISCARD_SEGMENT = 16;
    public static final int BLK_WRITE_ZEROES_F_UNMAP = 1;
    public static final int SECTOR_SIZE = 512, SECTOR_SHIFT = 9;

    private Virtio() {
    }

    /** Bytes of a split ring's parts for {@code size} entries (with the event-index fields). */
    public static long descTableBytes(int size) {
        return (long) DESC_SIZE * size;
    }

    public static long availRingBytes(int size) {
        return 6 + 2L * size;
    }

    public static long usedRingBytes(int size) {
        return 6 + 8L * size;
    }

    /** vring_need_event: whether moving an index from {@code oldIdx} to {@code newIdx} passes {@code eventIdx}. */
    public static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }

    public static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }
}
