package io.ustor.vhost.client;

import io.ustor.bdev.BdevIo;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.env.Posix;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A split virtqueue, driver side, in the client's shared memory. Each request slot owns a fixed descriptor
 * layout (an indirect table of header, data, status when INDIRECT_DESC was negotiated, else three ring
 * descriptors) and a bounce buffer in shared memory; submission fills them, publishes the available index and
 * kicks when the device asks for kicks. Completions are polled. One reactor uses a queue at a time.
 */
public final class DriverQueue implements VirtqueueDriver {
    private static final int SLOT_META = SlotRequest.SLOT_META;

    private final int index, size, slots;
    private final SharedMemory mem;
    final long descOff, availOff, usedOff, metaOff, bounceOff;
    private final int bounceBytes;
    final MemorySegment desc, avail, used;
    private final boolean indirect, eventIdx;
    private final int kickFd;
    private final MemorySegment one = Arena.ofAuto().allocate(JAVA_LONG);
    private final BdevIo[] ios;
    /** Per slot: the request's data is in the slot's bounce buffer (else the back end reaches it directly). */
    private final boolean[] bounced;
    private final DirectRegions direct;
    private long directRequests;
    private final int[] freeSlots;
    private int freeCount;
    private int availIdx, lastUsed;
    private int outstanding;

    DriverQueue(int index, int size, SharedMemory mem, long base, int bounceBytes, boolean indirect, boolean eventIdx,
                int kickFd, DirectRegions direct) {
        this.index = index;
        this.size = size;
        this.mem = mem;
        this.indirect = indirect;
        this.eventIdx = eventIdx;
        this.kickFd = kickFd;
        this.direct = direct;
        this.bounceBytes = bounceBytes;
        this.slots = indirect ? size : size / 3;
        descOff = base;
        availOff = align(descOff + Virtio.descTableBytes(size), 4096);
        usedOff = align(availOff + Virtio.availRingBytes(size), 4096);
        metaOff = align(usedOff + Virtio.usedRingBytes(size), 4096);
        bounceOff = align(metaOff + (long) SLOT_META * slots, 4096);
        MemorySegment all = mem.segment();
        desc = all.asSlice(descOff, Virtio.descTableBytes(size));
        avail = all.asSlice(availOff, Virtio.availRingBytes(size));
        used = all.asSlice(usedOff, Virtio.usedRingBytes(size));
        one.set(JAVA_LONG, 0, 1L);
        ios = new BdevIo[slots];
        bounced = new boolean[slots];
        freeSlots = new int[slots];
        for (int i = 0; i < slots; i++) {
            freeSlots[i] = slots - 1 - i;
        }
        freeCount = slots;
        layout();
    }

    /** Bytes a queue needs in shared memory. */
    static long bytesNeeded(int size, int bounceBytes, boolean indirect) {
        int slots = indirect ? size : size / 3;
        long b = align(Virtio.descTableBytes(size), 4096) + align(Virtio.availRingBytes(size), 4096)
                + align(Virtio.usedRingBytes(size), 4096) + align((long) SLOT_META * slots, 4096);
        return b + (long) bounceBytes * slots;
    }

    private static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    /** Fixed parts of every slot's descriptors; interrupts suppressed (completions are polled). */
    private void layout() {
        for (int s = 0; s < slots; s++) {
            long meta = metaOff + (long) SLOT_META * s;
            if (indirect) {
                setDesc(desc, s, mem.gpa(meta + 64), 3 * 16, Virtio.DESC_F_INDIRECT, 0);
                MemorySegment table = mem.segment().asSlice(meta + 64, 48);
                setDesc(table, 0, mem.gpa(meta), Virtio.BLK_REQ_HEADER, Virtio.DESC_F_NEXT, 1);
                setDesc(table, 2, mem.gpa(meta + 16), 1, Virtio.DESC_F_WRITE, 0);
            } else {
                setDesc(desc, 3 * s, mem.gpa(meta), Virtio.BLK_REQ_HEADER, Virtio.DESC_F_NEXT, 3 * s + 1);
                setDesc(desc, 3 * s + 2, mem.gpa(meta + 16), 1, Virtio.DESC_F_WRITE, 0);
            }
        }
        if (eventIdx) {
            avail.set(JAVA_SHORT, 4 + 2L * size, (short) 0x8000);
        } else {
            avail.set(JAVA_SHORT, 0, (short) Virtio.AVAIL_F_NO_INTERRUPT);
        }
    }

    static void setDesc(MemorySegment table, int i, long addr, long len, int flags, int next) {
        setDescAt(table, 16L * i, addr, len, flags, next);
    }

    /** Writes a descriptor at byte {@code d} of {@code seg} (no slice: the submit path allocates nothing). */
    static void setDescAt(MemorySegment seg, long d, long addr, long len, int flags, int next) {
        MemorySegment table = seg;
        table.set(JAVA_LONG, d, addr);
        table.set(JAVA_INT, d + 8, (int) len);
        table.set(JAVA_SHORT, d + 12, (short) flags);
        table.set(JAVA_SHORT, d + 14, (short) next);
    }

    @Override
    public boolean packed() {
        return false;
    }

    /** The used index: where a device restarts when it cannot say (requests in flight are then resubmitted from the inflight buffer). */
    @Override
    public int vringBase() {
        return usedIndex();
    }

    @Override
    public long descOffset() {
        return descOff;
    }

    @Override
    public long driverAreaOffset() {
        return availOff;
    }

    @Override
    public long deviceAreaOffset() {
        return usedOff;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int slots() {
        return slots;
    }

    @Override
    public int outstanding() {
        return outstanding;
    }

    @Override
    public int bounceBytes() {
        return bounceBytes;
    }

    @Override
    public long directRequests() {
        return directRequests;
    }

    @Override
    public int submit(BdevIo io, int blockSize) {
        if (freeCount == 0) {
            return -Errno.ENOMEM;
        }
        int slot = freeSlots[freeCount - 1];
        long meta = metaOff + (long) SLOT_META * slot;
        long bounce = bounceOff + (long) bounceBytes * slot;
        MemorySegment seg = mem.segment();
        long directGpa = direct.gpaOf(io);
        long r = SlotRequest.prepare(io, blockSize, seg, meta, bounce, bounceBytes, directGpa < 0);
        if (r < 0) {
            return (int) r;
        }
        long dataGpa = directGpa >= 0 ? directGpa : mem.gpa(bounce);
        bounced[slot] = directGpa < 0;
        if (directGpa >= 0) {
            directRequests++;
        }
        freeCount--;
        long dataLen = r & ~SlotRequest.DEVICE_WRITES;
        int dataFlags = (r & SlotRequest.DEVICE_WRITES) != 0 ? Virtio.DESC_F_WRITE : 0;
        int head;
        if (indirect) {
            long table = meta + 64;
            head = slot;
            if (dataLen == 0) {
                setDesc(desc, slot, mem.gpa(table), 2 * 16, Virtio.DESC_F_INDIRECT, 0);
                setDescAt(seg, table, mem.gpa(meta), Virtio.BLK_REQ_HEADER, Virtio.DESC_F_NEXT, 1);
                setDescAt(seg, table + 16, mem.gpa(meta + 16), 1, Virtio.DESC_F_WRITE, 0);
            } else {
                setDesc(desc, slot, mem.gpa(table), 3 * 16, Virtio.DESC_F_INDIRECT, 0);
                setDescAt(seg, table, mem.gpa(meta), Virtio.BLK_REQ_HEADER, Virtio.DESC_F_NEXT, 1);
                setDescAt(seg, table + 16, dataGpa, dataLen, dataFlags | Virtio.DESC_F_NEXT, 2);
                setDescAt(seg, table + 32, mem.gpa(meta + 16), 1, Virtio.DESC_F_WRITE, 0);
            }
        } else {
            head = 3 * slot;
            if (dataLen == 0) {
                setDesc(desc, head, mem.gpa(meta), Virtio.BLK_REQ_HEADER, Virtio.DESC_F_NEXT, head + 2);
            } else {
                setDesc(desc, head, mem.gpa(meta), Virtio.BLK_REQ_HEADER, Virtio.DESC_F_NEXT, head + 1);
                setDesc(desc, head + 1, dataGpa, dataLen, dataFlags | Virtio.DESC_F_NEXT, head + 2);
            }
        }
        ios[slot] = io;
        outstanding++;
        publish(head);
        return 0;
    }

    /** Puts {@code head} in the available ring, publishes the index, kicks if the device wants it. */
    void publish(int head) {
        int old = availIdx;
        avail.set(JAVA_SHORT, 4 + 2L * (availIdx & (size - 1)), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        VarHandle.releaseFence();
        avail.set(JAVA_SHORT, 2, (short) availIdx);
        VarHandle.fullFence();
        boolean kick;
        if (eventIdx) {
            kick = Virtio.needEvent(Short.toUnsignedInt(used.get(JAVA_SHORT, 4 + 8L * size)), availIdx, old);
        } else {
            kick = (used.get(JAVA_SHORT, 0) & Virtio.USED_F_NO_NOTIFY) == 0;
        }
        if (kick && kickFd >= 0) {
            Posix.writeRaw(kickFd, one, 8);
        }
    }

    @Override
    public int poll(int blockSize) {
        int usedIdx = Short.toUnsignedInt(used.get(JAVA_SHORT, 2));
        VarHandle.acquireFence();
        int n = 0;
        MemorySegment seg = mem.segment();
        while (lastUsed != usedIdx) {
            long e = 4 + 8L * (lastUsed & (size - 1));
            int id = used.get(JAVA_INT, e);
            lastUsed = (lastUsed + 1) & 0xffff;
            int slot = indirect ? id : id / 3;
            if (slot < 0 || slot >= slots || ios[slot] == null) {
                continue; // a device bug; nothing to complete
            }
            BdevIo io = ios[slot];
            ios[slot] = null;
            freeSlots[freeCount++] = slot;
            outstanding--;
            n++;
            SlotRequest.finish(io, seg, metaOff + (long) SLOT_META * slot, bounceOff + (long) bounceBytes * slot,
                    bounced[slot]);
        }
        return n;
    }

    // ---- raw access, for tests that play a hostile driver ----

    /** The shared memory this queue lives in. */
    public SharedMemory memory() {
        return mem;
    }

    /** Offset in shared memory of slot {@code s}'s 128-byte metadata area and bounce buffer. */
    public long slotMetaOffset(int s) {
        return metaOff + (long) SLOT_META * s;
    }

    public long slotBounceOffset(int s) {
        return bounceOff + (long) bounceBytes * s;
    }

    public MemorySegment descTable() {
        return desc;
    }

    /** Writes ring descriptor {@code i} as given (a hostile or hand-built chain). */
    public void writeDescRaw(int i, long addr, long len, int flags, int next) {
        setDesc(desc, i, addr, len, flags, next);
    }

    /** Publishes a raw head (no request object): its used entry is later skipped by {@link #poll}. */
    public void publishRaw(int head) {
        publish(head);
    }

    /** Publishes an arbitrary available index (a driver that lies about how much it made available). */
    public void setAvailIndexRaw(int idx) {
        avail.set(JAVA_SHORT, 2, (short) idx);
    }

    /** The available ring's index: requests made available so far (mod 2^16). */
    public int availIndex() {
        return Short.toUnsignedInt(avail.get(JAVA_SHORT, 2));
    }

    /** The used ring's index as the device last published it. */
    public int usedIndex() {
        return Short.toUnsignedInt(used.get(JAVA_SHORT, 2));
    }

    /** The used length of used entry {@code i}. */
    public int usedLength(int i) {
        return used.get(JAVA_INT, 4 + 8L * (i & (size - 1)) + 4);
    }

    public int usedId(int i) {
        return used.get(JAVA_INT, 4 + 8L * (i & (size - 1)));
    }

    /** Takes a slot for a raw request (returned with {@link #releaseRawSlot}). */
    public int takeRawSlot() {
        return freeSlots[--freeCount];
    }

    public void releaseRawSlot(int slot) {
        freeSlots[freeCount++] = slot;
    }

    /** Consumes used entries without completing anything (after raw requests). */
    public void skipUsed() {
        lastUsed = usedIndex();
    }
}
