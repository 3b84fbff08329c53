package io.ustor.vhost.server;

import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One packed virtqueue's inflight tracking, per vhost-user.rst "Inflight I/O tracking" ({@code QueueRegionPacked}):
 * every descriptor taken from the ring is copied into an entry of a free list, the chain's entries linked, its
 * head entry marked in flight with a fetch counter, its number of descriptors and its last entry; a returned chain's
 * entries go back to the free list before its used descriptor is written, and the "old" copies of the free-list
 * head and the used position and wrap counter are updated once the used descriptor is visible. A back end that dies
 * anywhere leaves enough for its successor ({@link #recover}) to roll back or commit the step in progress and
 * resubmit, in fetch order, what never completed, from the copied descriptors (the ring itself may have been
 * overwritten by used descriptors).
 *
 * <p>Layout: header {@code features u64, version u16, desc_num u16, free_head u16, old_free_head u16, used_idx u16,
 * old_used_idx u16, used_wrap_counter u8, old_used_wrap_counter u8, padding[7]} (32 bytes with the entries' 8-byte
 * alignment), then {@code DescStatePacked}: {@code inflight u8, padding u8, next u16, last u16, num u16,
 * counter u64, id u16, flags u16, len u32, addr u64} (32 bytes).
 *
 * <p>Its content comes from the front end (an earlier back end wrote it): untrusted. Per-request methods run on the
 * queue's reactor and allocate nothing; a link that leaves the table stops tracking (logged once) rather than
 * writing anywhere else.
 */
final class PackedInflightQueue {
    private static final long VERSION = 8, DESC_NUM = 10, FREE_HEAD = 12, OLD_FREE_HEAD = 14, USED_IDX = 16,
            OLD_USED_IDX = 18, USED_WRAP = 20, OLD_USED_WRAP = 21;
    private static final long INFLIGHT = 0, NEXT = 2, LAST = 4, NUM = 6, COUNTER = 8, ID = 16, FLAGS = 18, LEN = 20,
            ADDR = 24;
    static final short REGION_VERSION = 1;

    private final MemorySegment region;
    private final int size;
    private final String name;
    private long counter;
    private int freeHead, oldFreeHead;
    private boolean disabled;

    PackedInflightQueue(MemorySegment region, int size, String name) {
        this.region = region;
        this.size = size;
        this.name = name;
    }

    private static long entry(int i) {
        return InflightRegion.PACKED_QUEUE_HEADER + (long) InflightRegion.PACKED_DESC_STATE * i;
    }

    /** What a restarted back end finds: head entries to resubmit (fetch order) and where the used position is. */
    record Recovery(boolean fresh, int[] heads, int usedPos, boolean usedWrap, String problem) {
    }

    int num(int head) {
        return Short.toUnsignedInt(region.get(JAVA_SHORT, entry(head) + NUM));
    }

    int next(int e) {
        return Short.toUnsignedInt(region.get(JAVA_SHORT, entry(e) + NEXT));
    }

    long addr(int e) {
        return region.get(JAVA_LONG, entry(e) + ADDR);
    }

    long len(int e) {
        return Integer.toUnsignedLong(region.get(JAVA_INT, entry(e) + LEN));
    }

    int flags(int e) {
        return Short.toUnsignedInt(region.get(JAVA_SHORT, entry(e) + FLAGS));
    }

    int id(int e) {
        return Short.toUnsignedInt(region.get(JAVA_SHORT, entry(e) + ID));
    }

    private int u16(long off) {
        return Short.toUnsignedInt(region.get(JAVA_SHORT, off));
    }

    /**
     * Before the queue starts: settles the step the predecessor was in (a used descriptor already visible in
     * {@code ring} is committed, anything else rolled back), clears the free entries' marks and returns the chains
     * still in flight. A region never used, or one that does not add up, is reset for the front end's used
     * position and reported fresh.
     */
    Recovery recover(MemorySegment ring, int baseUsedPos, boolean baseUsedWrap) {
        int version = u16(VERSION);
        if (version == 0) {
            reset(baseUsedPos, baseUsedWrap);
            return new Recovery(true, new int[0], baseUsedPos, baseUsedWrap, null);
        }
        String problem = check(ring);
        if (problem != null) {
            reset(baseUsedPos, baseUsedWrap);
            return new Recovery(true, new int[0], baseUsedPos, baseUsedWrap, problem);
        }
        int usedPos = u16(OLD_USED_IDX);
        boolean usedWrap = region.get(JAVA_BYTE, OLD_USED_WRAP) != 0;
        FetchOrder order = new FetchOrder(size);
        for (int i = 0; i < size; i++) {
            if (region.get(JAVA_BYTE, entry(i) + INFLIGHT) != 0) {
                order.add(i, region.get(JAVA_LONG, entry(i) + COUNTER));
            }
        }
        counter = order.nextCounter();
        freeHead = oldFreeHead = u16(FREE_HEAD);
        return new Recovery(false, order.heads(), usedPos, usedWrap, null);
    }

    /** Commits or rolls back, clears the free entries and validates the chains in flight: a problem, or null. */
    private String check(MemorySegment ring) {
        if (u16(DESC_NUM) != size) {
            return "version " + u16(VERSION) + " for " + u16(DESC_NUM) + " entries, the ring has " + size;
        }
        int used = u16(USED_IDX), oldUsed = u16(OLD_USED_IDX), free = u16(FREE_HEAD), oldFree = u16(OLD_FREE_HEAD);
        if (used >= size || oldUsed >= size || free >= size || oldFree >= size) {
            return "positions beyond the ring (used " + used + "/" + oldUsed + ", free head " + free + "/" + oldFree + ")";
        }
        boolean wrap = region.get(JAVA_BYTE, USED_WRAP) != 0, oldWrap = region.get(JAVA_BYTE, OLD_USED_WRAP) != 0;
        if (used != oldUsed || wrap != oldWrap) {
            // Was the used descriptor of the step in progress written? Then it is the driver's: commit.
            int f = Short.toUnsignedInt(ring.get(JAVA_SHORT, 16L * oldUsed + 14));
            int bits = f & (Virtio.PACKED_DESC_F_AVAIL | Virtio.PACKED_DESC_F_USED);
            int stillAvailable = oldWrap ? Virtio.PACKED_DESC_F_AVAIL : Virtio.PACKED_DESC_F_USED;
            if (bits != stillAvailable) {
                region.set(JAVA_SHORT, OLD_FREE_HEAD, (short) free);
                region.set(JAVA_SHORT, OLD_USED_IDX, (short) used);
                region.set(JAVA_BYTE, OLD_USED_WRAP, (byte) (wrap ? 1 : 0));
            }
        }
        // Roll back whatever is newer than the old copies.
        region.set(JAVA_SHORT, FREE_HEAD, region.get(JAVA_SHORT, OLD_FREE_HEAD));
        region.set(JAVA_SHORT, USED_IDX, region.get(JAVA_SHORT, OLD_USED_IDX));
        region.set(JAVA_BYTE, USED_WRAP, region.get(JAVA_BYTE, OLD_USED_WRAP));
        boolean[] free2 = new boolean[size];
        int e = u16(FREE_HEAD);
        int freeCount = 0;
        // The free list: every entry not holding a chain in flight, in some order, ending anywhere past the last.
        while (e < size && !free2[e]) {
            free2[e] = true;
            freeCount++;
            region.set(JAVA_BYTE, entry(e) + INFLIGHT, (byte) 0);
            e = next(e);
        }
        int held = 0;
        boolean[] inChain = new boolean[size];
        for (int h = 0; h < size; h++) {
            if (region.get(JAVA_BYTE, entry(h) + INFLIGHT) == 0) {
                continue;
            }
            int num = num(h), last = u16(entry(h) + LAST);
            if (num < 1 || num > size || last >= size) {
                return "chain at entry " + h + " of " + num + " descriptors ending at " + last;
            }
            int k = h;
            for (int i = 0; i < num; i++) {
                if (k >= size || free2[k] || inChain[k]) {
                    return "chain at entry " + h + " runs into entry " + k;
                }
                inChain[k] = true;
                if (i < num - 1) {
                    k = next(k);
                }
            }
            if (k != last) {
                return "chain at entry " + h + " ends at " + k + ", not at its last entry " + last;
            }
            held += num;
        }
        if (held > size) {
            return held + " descriptors in flight in a ring of " + size;
        }
        return null;
    }

    private void reset(int usedPos, boolean usedWrap) {
        region.fill((byte) 0);
        region.set(JAVA_SHORT, VERSION, REGION_VERSION);
        region.set(JAVA_SHORT, DESC_NUM, (short) size);
        for (int i = 0; i < size; i++) {
            region.set(JAVA_SHORT, entry(i) + NEXT, (short) (i + 1));
        }
        region.set(JAVA_SHORT, USED_IDX, (short) usedPos);
        region.set(JAVA_SHORT, OLD_USED_IDX, (short) usedPos);
        region.set(JAVA_BYTE, USED_WRAP, (byte) (usedWrap ? 1 : 0));
        region.set(JAVA_BYTE, OLD_USED_WRAP, (byte) (usedWrap ? 1 : 0));
        freeHead = oldFreeHead = 0;
        counter = 1;
    }

    /** The entry a chain being fetched starts at (its head entry), marked in flight; -1 when tracking stopped. */
    int begin() {
        int e = oldFreeHead;
        if (disabled || e >= size) {
            stop("free list head " + e);
            return -1;
        }
        long d = entry(e);
        region.set(JAVA_SHORT, d + NUM, (short) 0);
        region.set(JAVA_LONG, d + COUNTER, counter++);
        region.set(JAVA_BYTE, d + INFLIGHT, (byte) 1);
        return e;
    }

    /** One descriptor of the chain whose head entry is {@code head}, copied into the next free entry. */
    void add(int head, long addr, long len, int flags, int id, boolean last) {
        int f = freeHead;
        if (head < 0 || disabled || f >= size) {
            stop("free list entry " + f);
            return;
        }
        long h = entry(head), d = entry(f);
        region.set(JAVA_SHORT, h + NUM, (short) (Short.toUnsignedInt(region.get(JAVA_SHORT, h + NUM)) + 1));
        region.set(JAVA_LONG, d + ADDR, addr);
        region.set(JAVA_INT, d + LEN, (int) len);
        region.set(JAVA_SHORT, d + FLAGS, (short) flags);
        region.set(JAVA_SHORT, d + ID, (short) id);
        if (last) {
            region.set(JAVA_SHORT, h + LAST, (short) f);
        }
        freeHead = next(f);
        region.set(JAVA_SHORT, FREE_HEAD, (short) freeHead);
        if (last) {
            oldFreeHead = freeHead;
            region.set(JAVA_SHORT, OLD_FREE_HEAD, (short) freeHead);
        }
    }

    /**
     * A chain about to be returned: its entries back on the free list and the used position after its used
     * descriptor (before that descriptor is written).
     */
    void returned(int head, int usedPos, boolean usedWrap) {
        if (head < 0 || disabled) {
            return;
        }
        int last = u16(entry(head) + LAST);
        if (last >= size) {
            stop("last entry " + last);
            return;
        }
        region.set(JAVA_SHORT, entry(last) + NEXT, (short) freeHead);
        freeHead = head;
        region.set(JAVA_SHORT, FREE_HEAD, (short) head);
        region.set(JAVA_SHORT, USED_IDX, (short) usedPos);
        region.set(JAVA_BYTE, USED_WRAP, (byte) (usedWrap ? 1 : 0));
    }

    /** The chain's used descriptor is visible: no longer in flight, and the old copies catch up. */
    void committed(int head) {
        if (head < 0 || disabled) {
            return;
        }
        region.set(JAVA_BYTE, entry(head) + INFLIGHT, (byte) 0);
        VarHandle.fullFence();
        oldFreeHead = freeHead;
        region.set(JAVA_SHORT, OLD_FREE_HEAD, (short) freeHead);
        region.set(JAVA_SHORT, OLD_USED_IDX, region.get(JAVA_SHORT, USED_IDX));
        region.set(JAVA_BYTE, OLD_USED_WRAP, region.get(JAVA_BYTE, USED_WRAP));
    }

    private void stop(String why) {
        if (!disabled) {
            disabled = true;
            ServerQueue.LOG.log(System.Logger.Level.ERROR, "vhost {0}: inflight buffer inconsistent ({1}); tracking stops", name, why);
        }
    }
}
