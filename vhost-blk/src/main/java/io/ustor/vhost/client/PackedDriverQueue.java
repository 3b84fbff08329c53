package io.ustor.vhost.client;

import io.ustor.bdev.BdevIo;
import io.ustor.env.Errno;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A packed virtqueue (virtio 1.2 2.8), driver side, in the client's shared memory. A request takes a slot (its
 * buffer id: metadata and bounce buffer as for the split ring) and one ring descriptor pointing to an indirect
 * table when INDIRECT_DESC was negotiated, else a chain of two or three consecutive ring descriptors. Descriptors
 * are written at the available position with AVAIL = the driver's wrap counter and USED = its inverse, the chain's
 * first flags last; completions are used descriptors at the used position, which then moves past as many
 * descriptors as that buffer's chain had. Interrupts are off (completions are polled); the driver kicks unless the
 * device disabled kicks.
 */
public final class PackedDriverQueue extends SlotQueue {
    private final long ringOff, driverOff, deviceOff;
    private final MemorySegment ring, driverArea, deviceArea;
    private final boolean indirect;
    private final int[] chainLength;
    private int freeDescs;
    private int availPos, usedPos;
    private boolean availWrap = true, usedWrap = true;

    PackedDriverQueue(int index, int size, SharedMemory mem, long base, int bounceBytes, boolean indirect, int kickFd,
                      DirectRegions direct) {
        int slots = indirect ? size : size / 3;
        long driverOff = align(base + 16L * size, 16);
        long deviceOff = driverOff + 16;
        long metaOff = align(deviceOff + Virtio.EVENT_SUPPRESS_BYTES, 4096);
        super(index, size, slots, mem, metaOff, align(metaOff + (long) SLOT_META * slots, 4096), bounceBytes, kickFd,
                direct);
        this.indirect = indirect;
        this.ringOff = base;
        this.driverOff = driverOff;
        this.deviceOff = deviceOff;
        MemorySegment all = mem.segment();
        ring = all.asSlice(ringOff, 16L * size);
        driverArea = all.asSlice(driverOff, Virtio.EVENT_SUPPRESS_BYTES);
        deviceArea = all.asSlice(deviceOff, Virtio.EVENT_SUPPRESS_BYTES);
        chainLength = new int[slots];
        freeDescs = size;
        driverArea.set(JAVA_SHORT, 2, (short) Virtio.RING_EVENT_FLAGS_DISABLE); // completions are polled
    }

    /** Bytes a queue needs in shared memory. */
    static long bytesNeeded(int size, int bounceBytes, boolean indirect) {
        int slots = indirect ? size : size / 3;
        long b = align(16L * size + 16 + Virtio.EVENT_SUPPRESS_BYTES, 4096) + align((long) SLOT_META * slots, 4096);
        return b + (long) bounceBytes * slots;
    }

    /** The flags that make a descriptor available on lap {@code wrap}. */
    public static int availFlags(boolean wrap) {
        return wrap ? Virtio.PACKED_DESC_F_AVAIL : Virtio.PACKED_DESC_F_USED;
    }

    @Override
    public boolean packed() {
        return true;
    }

    @Override
    public int vringBase() {
        return availPos | (availWrap ? 0x8000 : 0) | usedPos << 16 | (usedWrap ? 0x80000000 : 0);
    }

    @Override
    public long descOffset() {
        return ringOff;
    }

    @Override
    public long driverAreaOffset() {
        return driverOff;
    }

    @Override
    public long deviceAreaOffset() {
        return deviceOff;
    }

    @Override
    public int submit(BdevIo io, int blockSize) {
        if (!hasFreeSlot() || freeDescs < (indirect ? 1 : 3)) {
            return -Errno.ENOMEM;
        }
        int slot = takeSlot(io, blockSize);
        if (slot < 0) {
            return slot;
        }
        long meta = slotMetaOffset(slot);
        MemorySegment seg = mem.segment();
        long dataLen = dataLength(slot), dataGpa = dataGpa(slot);
        int dataFlags = dataFlags(slot);
        long status = meta + SlotRequest.STATUS;
        int first = availPos;
        boolean firstWrap = availWrap;
        int firstFlags;
        if (indirect) {
            long table = meta + SlotRequest.TABLE;
            int n = 0;
            // Packed layout in the table too: id (ignored) at 12, flags at 14.
            DriverQueue.setDescAt(seg, table, mem.gpa(meta), Virtio.BLK_REQ_HEADER, 0, 0);
            n++;
            if (dataLen > 0) {
                DriverQueue.setDescAt(seg, table + 16L * n, dataGpa, dataLen, 0, dataFlags);
                n++;
            }
            DriverQueue.setDescAt(seg, table + 16L * n, mem.gpa(status), 1, 0, Virtio.DESC_F_WRITE);
            n++;
            writeDesc(first, mem.gpa(table), 16L * n, slot);
            firstFlags = Virtio.DESC_F_INDIRECT;
            advance(1);
            chainLength[slot] = 1;
        } else {
            writeDesc(first, mem.gpa(meta), Virtio.BLK_REQ_HEADER, slot);
            firstFlags = Virtio.DESC_F_NEXT;
            advance(1);
            if (dataLen > 0) {
                writeDesc(availPos, dataGpa, dataLen, slot);
                ring.set(JAVA_SHORT, 16L * availPos + 14, (short) (dataFlags | Virtio.DESC_F_NEXT | availFlags(availWrap)));
                advance(1);
            }
            writeDesc(availPos, mem.gpa(status), 1, slot);
            ring.set(JAVA_SHORT, 16L * availPos + 14, (short) (Virtio.DESC_F_WRITE | availFlags(availWrap)));
            advance(1);
            chainLength[slot] = dataLen > 0 ? 3 : 2;
        }
        freeDescs -= chainLength[slot];
        started(slot, io);
        VarHandle.releaseFence(); // the whole chain before its first flags
        ring.set(JAVA_SHORT, 16L * first + 14, (short) (firstFlags | availFlags(firstWrap)));
        kick();
        return 0;
    }

    private void writeDesc(int pos, long addr, long len, int id) {
        long d = 16L * pos;
        ring.set(JAVA_LONG, d, addr);
        ring.set(JAVA_INT, d + 8, (int) len);
        ring.set(JAVA_SHORT, d + 12, (short) id);
    }

    private void advance(int n) {
        availPos += n;
        if (availPos >= size) {
            availPos -= size;
            availWrap = !availWrap;
        }
    }

    private void kick() {
        VarHandle.fullFence(); // the flags before reading the device's suppression state
        int flags = Short.toUnsignedInt(deviceArea.get(JAVA_SHORT, 2)) & 3;
        if (flags != Virtio.RING_EVENT_FLAGS_DISABLE) {
            notifyDevice(); // enabled, or a descriptor event: kicking early is always allowed
        }
    }

    private boolean usedAt(int pos, boolean wrap) {
        int flags = Short.toUnsignedInt(ring.get(JAVA_SHORT, 16L * pos + 14));
        boolean a = (flags & Virtio.PACKED_DESC_F_AVAIL) != 0, u = (flags & Virtio.PACKED_DESC_F_USED) != 0;
        return a == wrap && u == wrap;
    }

    @Override
    public int poll(int blockSize) {
        int n = 0;
        while (outstanding() > 0 && usedAt(usedPos, usedWrap)) {
            VarHandle.acquireFence(); // id after the flags
            int id = Short.toUnsignedInt(ring.get(JAVA_SHORT, 16L * usedPos + 12));
            if (!inFlight(id)) {
                break; // a device bug: nothing to complete, and no way to know where the next used descriptor is
            }
            int len = chainLength[id];
            usedPos += len;
            if (usedPos >= size) {
                usedPos -= size;
                usedWrap = !usedWrap;
            }
            freeDescs += len;
            n++;
            complete(id);
        }
        return n;
    }

    // ---- raw access, for tests that play a hostile driver ----

    /**
     * Makes a hand-built chain available: {@code count} descriptors at the available position with the given
     * addresses, lengths and flags (the AVAIL/USED bits added for their lap; the first one's flags written last),
     * all with buffer id {@code id}. Returns the position of the first.
     */
    public int postRaw(long[] addr, long[] len, int[] flags, int count, int id) {
        int first = availPos;
        boolean firstWrap = availWrap;
        for (int i = 0; i < count; i++) {
            writeDesc(availPos, addr[i], len[i], id);
            if (i > 0) {
                ring.set(JAVA_SHORT, 16L * availPos + 14, (short) (flags[i] | availFlags(availWrap)));
            }
            advance(1);
        }
        VarHandle.releaseFence();
        ring.set(JAVA_SHORT, 16L * first + 14, (short) (flags[0] | availFlags(firstWrap)));
        kick();
        return first;
    }

    /**
     * Takes the next used descriptor if the device wrote one: its buffer id in {@code out[0]}, length in
     * {@code out[1]}; the used position then moves past {@code chainLength} descriptors. False when none is there.
     */
    public boolean pollUsedRaw(int chainLength, int[] out) {
        if (!usedAt(usedPos, usedWrap)) {
            return false;
        }
        VarHandle.acquireFence();
        out[0] = Short.toUnsignedInt(ring.get(JAVA_SHORT, 16L * usedPos + 12));
        out[1] = ring.get(JAVA_INT, 16L * usedPos + 8);
        usedPos += chainLength;
        if (usedPos >= size) {
            usedPos -= size;
            usedWrap = !usedWrap;
        }
        return true;
    }

    /** Writes ring descriptor {@code pos} as given, flags included (a descriptor the driver never made properly available). */
    public void writeDescRaw(int pos, long addr, long len, int id, int flags) {
        writeDesc(pos, addr, len, id);
        ring.set(JAVA_SHORT, 16L * pos + 14, (short) flags);
    }

    public int availPosition() {
        return availPos;
    }

    public boolean availWrapCounter() {
        return availWrap;
    }
}
