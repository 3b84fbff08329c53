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
 * A split virtqueue, driver side, in the client's shared memory. Each request slot owns a fixed descriptor
 * layout (an indirect table of header, data, status when INDIRECT_DESC was negotiated, else three ring
 * descriptors) and a bounce buffer in shared memory; submission fills them, publishes the available index and
 * kicks when the device asks for kicks. Completions are polled. One reactor uses a queue at a time.
 */
public final class DriverQueue extends SlotQueue {
    final long descOff, availOff, usedOff;
    final MemorySegment desc, avail, used;
    private final boolean indirect, eventIdx;
    private int availIdx, lastUsed;

    DriverQueue(int index, int size, SharedMemory mem, long base, int bounceBytes, boolean indirect, boolean eventIdx,
                int kickFd, DirectRegions direct) {
        int slots = indirect ? size : size / 3;
        long availOff = align(base + Virtio.descTableBytes(size), 4096);
        long usedOff = align(availOff + Virtio.availRingBytes(size), 4096);
        long metaOff = align(usedOff + Virtio.usedRingBytes(size), 4096);
        super(index, size, slots, mem, metaOff, align(metaOff + (long) SLOT_META * slots, 4096), bounceBytes, kickFd,
                direct);
        this.indirect = indirect;
        this.eventIdx = eventIdx;
        this.descOff = base;
        this.availOff = availOff;
        this.usedOff = usedOff;
        MemorySegment all = mem.segment();
        desc = all.asSlice(descOff, Virtio.descTableBytes(size));
        avail = all.asSlice(availOff, Virtio.availRingBytes(size));
        used = all.asSlice(usedOff, Virtio.usedRingBytes(size));
        layout();
    }

    /** Bytes a queue needs in shared memory. */
    static long bytesNeeded(int size, int bounceBytes, boolean indirect) {
        int slots = indirect ? size : size / 3;
        long b = align(Virtio.descTableBytes(size), 4096) + align(Virtio.availRingBytes(size), 4096)
                + align(Virtio.usedRingBytes(size), 4096) + align((long) SLOT_META * slots, 4096);
        return b + (long) bounceBytes * slots;
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
    public int submit(BdevIo io, int blockSize) {
        if (!hasFreeSlot()) {
            return -Errno.ENOMEM;
        }
        int slot = takeSlot(io, blockSize);
        if (slot < 0) {
            return slot;
        }
        long meta = slotMetaOffset(slot);
        long dataLen = dataLength(slot), dataGpa = dataGpa(slot);
        int dataFlags = dataFlags(slot);
        MemorySegment seg = mem.segment();
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
        started(slot, io);
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
        if (kick) {
            notifyDevice();
        }
    }

    @Override
    public int poll(int blockSize) {
        int usedIdx = Short.toUnsignedInt(used.get(JAVA_SHORT, 2));
        VarHandle.acquireFence();
        int n = 0;
        while (lastUsed != usedIdx) {
            long e = 4 + 8L * (lastUsed & (size - 1));
            int id = used.get(JAVA_INT, e);
            lastUsed = (lastUsed + 1) & 0xffff;
            int slot = indirect ? id : id / 3;
            if (!inFlight(slot)) {
                continue; // a device bug; nothing to complete
            }
            n++;
            complete(slot);
        }
        return n;
    }

    // ---- raw access, for tests that play a hostile driver ----

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

    /** Consumes used entries without completing anything (after raw requests). */
    public void skipUsed() {
        lastUsed = usedIndex();
    }
}
