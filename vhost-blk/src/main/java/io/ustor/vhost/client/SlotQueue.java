package io.ustor.vhost.client;

import io.ustor.bdev.BdevIo;
import io.ustor.env.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What the split and packed driver queues share: the request slots (each with its metadata area and bounce buffer
 * in shared memory), the free list, the requests in flight, the choice between the bounce buffer and a buffer the
 * back end reaches directly ({@link DirectRegions}), and completing a slot. The subclasses lay out and drive their
 * ring. One reactor uses a queue at a time.
 */
abstract class SlotQueue implements VirtqueueDriver {
    static final int SLOT_META = SlotRequest.SLOT_META;

    final int index, size, slots;
    final SharedMemory mem;
    final long metaOff, bounceOff;
    final int bounceBytes;
    private final int kickFd;
    private final MemorySegment one = Arena.ofAuto().allocate(JAVA_LONG);
    private final DirectRegions direct;
    private final BdevIo[] ios;
    /** Per slot: the request's data is in the slot's bounce buffer (else the back end reaches it directly). */
    private final boolean[] bounced;
    /** Per slot: the guest address of the request's data (the bounce buffer's or the caller's buffer's). */
    private final long[] dataGpa;
    /** Per slot: {@link SlotRequest#prepare}'s data length, ORed with {@link SlotRequest#DEVICE_WRITES} for reads. */
    private final long[] prepared;
    private final int[] freeSlots;
    private int freeCount;
    private int outstanding;
    private long directRequests;

    SlotQueue(int index, int size, int slots, SharedMemory mem, long metaOff, long bounceOff, int bounceBytes,
              int kickFd, DirectRegions direct) {
        this.index = index;
        this.size = size;
        this.slots = slots;
        this.mem = mem;
        this.metaOff = metaOff;
        this.bounceOff = bounceOff;
        this.bounceBytes = bounceBytes;
        this.kickFd = kickFd;
        this.direct = direct;
        one.set(JAVA_LONG, 0, 1L);
        ios = new BdevIo[slots];
        bounced = new boolean[slots];
        dataGpa = new long[slots];
        prepared = new long[slots];
        freeSlots = new int[slots];
        for (int i = 0; i < slots; i++) {
            freeSlots[i] = slots - 1 - i;
        }
        freeCount = slots;
    }

    static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    @Override
    public final int index() {
        return index;
    }

    @Override
    public final int size() {
        return size;
    }

    @Override
    public final int slots() {
        return slots;
    }

    @Override
    public final int outstanding() {
        return outstanding;
    }

    @Override
    public final int bounceBytes() {
        return bounceBytes;
    }

    @Override
    public final long directRequests() {
        return directRequests;
    }

    /** Whether a slot is free. */
    final boolean hasFreeSlot() {
        return freeCount > 0;
    }

    /**
     * Encodes {@code io} into the next free slot (header, and data into its bounce buffer unless the back end
     * reaches the caller's buffer directly) and takes the slot: the slot, or -errno with the slot left free.
     */
    final int takeSlot(BdevIo io, int blockSize) {
        int slot = freeSlots[freeCount - 1];
        long directGpa = direct.gpaOf(io);
        long r = SlotRequest.prepare(io, blockSize, mem.segment(), slotMetaOffset(slot), slotBounceOffset(slot),
                bounceBytes, directGpa < 0);
        if (r < 0) {
            return (int) r;
        }
        prepared[slot] = r;
        freeCount--;
        bounced[slot] = directGpa < 0;
        dataGpa[slot] = directGpa >= 0 ? directGpa : mem.gpa(slotBounceOffset(slot));
        if (directGpa >= 0) {
            directRequests++;
        }
        return slot;
    }

    /** The guest address of the data of the request in {@code slot}. */
    final long dataGpa(int slot) {
        return dataGpa[slot];
    }

    /** Bytes of data of the request in {@code slot} (0 for none). */
    final long dataLength(int slot) {
        return prepared[slot] & ~SlotRequest.DEVICE_WRITES;
    }

    /** The descriptor flag of the request's data: device-writable for reads. */
    final int dataFlags(int slot) {
        return (prepared[slot] & SlotRequest.DEVICE_WRITES) != 0 ? io.ustor.vhost.virtio.Virtio.DESC_F_WRITE : 0;
    }

    /** The request in {@code slot} is on the ring. */
    final void started(int slot, BdevIo io) {
        ios[slot] = io;
        outstanding++;
    }

    /** Whether {@code slot} is a slot with a request in flight (a device's used id is checked with this). */
    final boolean inFlight(int slot) {
        return slot >= 0 && slot < slots && ios[slot] != null;
    }

    /** The device returned {@code slot}: frees it and completes its request from the status byte. */
    final void complete(int slot) {
        BdevIo io = ios[slot];
        ios[slot] = null;
        freeSlots[freeCount++] = slot;
        outstanding--;
        SlotRequest.finish(io, mem.segment(), slotMetaOffset(slot), slotBounceOffset(slot), bounced[slot]);
    }

    /** Writes the kick eventfd (when there is one). */
    final void notifyDevice() {
        if (kickFd >= 0) {
            Posix.writeRaw(kickFd, one, 8);
        }
    }

    // ---- raw access, for tests that play a hostile driver ----

    /** The shared memory this queue lives in. */
    public final SharedMemory memory() {
        return mem;
    }

    /** Offset in shared memory of slot {@code s}'s 128-byte metadata area. */
    public final long slotMetaOffset(int s) {
        return metaOff + (long) SLOT_META * s;
    }

    /** Offset in shared memory of slot {@code s}'s bounce buffer. */
    public final long slotBounceOffset(int s) {
        return bounceOff + (long) bounceBytes * s;
    }

    /** Takes a slot for a raw request (returned with {@link #releaseRawSlot}). */
    public final int takeRawSlot() {
        return freeSlots[--freeCount];
    }

    public final void releaseRawSlot(int slot) {
        freeSlots[freeCount++] = slot;
    }
}
