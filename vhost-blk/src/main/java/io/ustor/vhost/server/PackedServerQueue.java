package io.ustor.vhost.server;

import io.ustor.bdev.BdevDesc;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;
import io.ustor.vhost.protocol.VhostProtocolException;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A packed virtqueue (virtio 1.2 2.8), device side. One descriptor ring carries both directions: a descriptor is
 * available when its AVAIL flag equals the device's available wrap counter and its USED flag does not; a chain is
 * consecutive descriptors joined by NEXT (wrapping at the ring's end), its buffer id in the last one, or one
 * descriptor pointing to an indirect table. The device returns a chain with one used descriptor (buffer id, written
 * length, AVAIL = USED = the used wrap counter) at its used position, which then moves past as many descriptors as
 * the chain had. Requests complete in any order.
 *
 * <p>Used descriptors written during one poll are published together: all but the first get their flags at once,
 * the first one's flags are written last (after a release fence), so the driver sees the batch at once. The driver's
 * event suppression structure decides whether to signal (enable, disable, or with EVENT_IDX a descriptor position and
 * wrap); the device's tells the driver not to kick (the queue is polled).
 *
 * <p>A chain with a bad buffer fails alone (used length 0); a ring that contradicts itself (a chain running into
 * descriptors that are not available, or longer than the descriptors the device does not already hold) breaks the
 * queue. Buffer ids are the driver's business: they are echoed, never used as indexes.
 *
 * <p>With the front end's inflight buffer ({@link PackedInflightQueue}) each descriptor taken is recorded there and
 * each used descriptor is then written and made visible one at a time (no batching), so that a successor finds
 * exactly which chains never completed and resubmits them at start.
 */
final class PackedServerQueue extends ServerQueue {
    private final MemorySegment ring, driverEvent, deviceEvent;
    private int availPos, usedPos;
    private boolean availWrap, usedWrap;
    /** Ring descriptors taken and not yet returned with a used descriptor. */
    private int ringHeld;
    /** Where the search for a free task starts when a buffer id does not name one. */
    private int taskCursor;
    // The batch of used descriptors since the last publish: the first one's flags wait for publish.
    private int pendingUsed, firstPendingPos = -1, advanced;
    private short firstPendingFlags;
    private int signalledPos;
    private boolean signalledWrap;
    private final PackedInflightQueue inflightLog;

    /**
     * @param base SET_VRING_BASE's value: bits 0-14 the next available position, 15 its wrap counter, 16-30 the next
     *             used position, 31 its wrap counter
     */
    PackedServerQueue(String controller, int index, int size, GuestMemory mem, MemorySegment ring,
                      MemorySegment driverEvent, MemorySegment deviceEvent, int base, boolean eventIdx, boolean indirect,
                      boolean readOnly, BdevDesc bdev, int callFd, Reactor reactor, MemorySegment inflightRegion) {
        super(controller, index, size, mem, eventIdx, indirect, readOnly, bdev, callFd, reactor);
        this.inflightLog = inflightRegion == null ? null : new PackedInflightQueue(inflightRegion, size, name);
        this.ring = ring;
        this.driverEvent = driverEvent;
        this.deviceEvent = deviceEvent;
        this.availPos = base & 0x7fff;
        this.availWrap = (base & 0x8000) != 0;
        this.usedPos = (base >>> 16) & 0x7fff;
        this.usedWrap = (base & 0x80000000) != 0;
        if (availPos >= size || usedPos >= size) {
            throw new VhostProtocolException("queue " + index + ": packed ring base 0x" + Integer.toHexString(base)
                    + " beyond the ring size " + size);
        }
        // What lies between the used and the available position was taken by a predecessor and never returned:
        // without inflight tracking it cannot be resubmitted, but the positions must stay consistent. A used half
        // that cannot be right (a front end that sends only the available half) is replaced by the available one.
        ringHeld = availPos - usedPos + (availWrap == usedWrap ? 0 : size);
        if (ringHeld < 0 || ringHeld > size) {
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: packed ring base 0x{1} has the used position ahead of "
                    + "the available one; using the available one", name, Integer.toHexString(base));
            usedPos = availPos;
            usedWrap = availWrap;
            ringHeld = 0;
        }
    }

    @Override
    void startRing() {
        int[] resubmit = null;
        if (inflightLog != null) {
            PackedInflightQueue.Recovery r = inflightLog.recover(ring, usedPos, usedWrap);
            if (r.problem() != null) {
                LOG.log(System.Logger.Level.WARNING, "vhost {0}: inflight buffer ignored and reset: {1}", name, r.problem());
            }
            if (!r.fresh()) {
                // The buffer knows better than the front end: the used position, and what lies between it and the
                // next available one (chains taken and never returned).
                int held = 0;
                for (int h : r.heads()) {
                    held += inflightLog.num(h);
                }
                usedPos = r.usedPos();
                usedWrap = r.usedWrap();
                availPos = usedPos + held;
                availWrap = usedWrap;
                if (availPos >= size) {
                    availPos -= size;
                    availWrap = !availWrap;
                }
                ringHeld = 0;
                resubmit = r.heads();
            }
        }
        if (ringHeld > 0) {
            LOG.log(System.Logger.Level.WARNING, "vhost {0}: {1} descriptor(s) a previous back end took are lost "
                    + "(no inflight tracking for packed rings)", name, Integer.toString(ringHeld));
            ringHeld = 0;
            usedPos = availPos;
            usedWrap = availWrap;
        }
        deviceEvent.set(JAVA_SHORT, 0, (short) 0);
        deviceEvent.set(JAVA_SHORT, 2, (short) Virtio.RING_EVENT_FLAGS_DISABLE); // polled: no kicks
        signalledPos = usedPos;
        signalledWrap = usedWrap;
        if (resubmit != null && resubmit.length > 0) {
            LOG.log(System.Logger.Level.INFO, "vhost {0}: resubmitting {1} request(s) left in flight",
                    name, Integer.toString(resubmit.length));
            resubmitted = resubmit.length;
            for (int head : resubmit) {
                resubmit(head);
            }
        }
    }

    /** A chain a predecessor took and never returned, rebuilt from the descriptors the inflight buffer kept. */
    private void resubmit(int head) {
        int num = inflightLog.num(head);
        int last = head;
        for (int k = 1; k < num; k++) {
            last = inflightLog.next(last);
        }
        int id = inflightLog.id(last);
        BlkTask t = freeTask(id);
        t.reset(id);
        int e = head, rc = 0;
        for (int k = 0; k < num; k++) {
            if (rc == 0) {
                rc = buffer(t, inflightLog.addr(e), inflightLog.len(e), inflightLog.flags(e));
            }
            if (k < num - 1) {
                e = inflightLog.next(e);
            }
        }
        t.ringDescs = num;
        t.inflightEntry = head;
        ringHeld += num;
        t.busy = true;
        inflight++;
        requests++;
        serve(t, rc);
    }

    @Override
    int base() {
        return availPos | (availWrap ? 0x8000 : 0) | usedPos << 16 | (usedWrap ? 0x80000000 : 0);
    }

    private static boolean available(int flags, boolean wrap) {
        boolean a = (flags & Virtio.PACKED_DESC_F_AVAIL) != 0, u = (flags & Virtio.PACKED_DESC_F_USED) != 0;
        return a == wrap && u != wrap;
    }

    @Override
    int fetch() {
        int taken = 0, descs = 0;
        // At most a ring's worth per poll: a batch never laps itself, and the event index stays meaningful.
        while (ringHeld < size && descs < size) {
            int flags = Short.toUnsignedInt(ring.get(JAVA_SHORT, 16L * availPos + 14));
            if (!available(flags, availWrap)) {
                break;
            }
            VarHandle.acquireFence(); // the descriptor after its flags
            BlkTask t = freeTask(peekId());
            t.reset(0);
            int rc = walk(t);
            if (broken) {
                break;
            }
            taken++;
            descs += t.ringDescs;
            ringHeld += t.ringDescs;
            t.busy = true;
            inflight++;
            requests++;
            serve(t, rc);
        }
        return taken;
    }

    /**
     * The buffer id of the chain at the available position (in its last descriptor), or -1 when the chain does
     * not end within what the driver made available. Only a hint for choosing the task.
     */
    private int peekId() {
        int pos = availPos;
        for (int n = size - ringHeld; n > 0; n--) {
            long d = 16L * pos;
            if ((ring.get(JAVA_SHORT_UNALIGNED, d + 14) & Virtio.DESC_F_NEXT) == 0) {
                return Short.toUnsignedInt(ring.get(JAVA_SHORT_UNALIGNED, d + 12));
            }
            if (++pos == size) {
                pos = 0;
            }
        }
        return -1;
    }

    /**
     * The task for a new request: the one of its buffer id when that is free, so a driver that reuses its buffers
     * per id (Linux, ustor's client) meets the guest-memory slices cached from last time; else any free one. Fewer
     * requests than ring descriptors are in flight, so there always is one.
     */
    private BlkTask freeTask(int id) {
        if (id >= 0 && id < size && !tasks[id].busy) {
            return tasks[id];
        }
        for (int i = 0; i < size; i++) {
            BlkTask t = tasks[taskCursor];
            if (++taskCursor == size) {
                taskCursor = 0;
            }
            if (!t.busy) {
                return t;
            }
        }
        throw new IllegalStateException("vhost " + name + ": no free task with " + inflight + " requests in flight");
    }

    /**
     * Reads the chain at the available position into the task, moving the position past it: 0, or -errno for a
     * bad buffer (the chain still ends where its descriptors say and fails alone). Marks the queue broken when the
     * chain runs into descriptors the driver did not make available or beyond what the ring can hold.
     */
    private int walk(BlkTask t) {
        int pos = availPos;
        boolean wrap = availWrap;
        int n = 0, rc = 0;
        while (true) {
            if (n == size - ringHeld) {
                markBroken("a chain at position " + availPos + " longer than the " + (size - ringHeld) + " descriptors available");
                return -Errno.EINVAL;
            }
            long d = 16L * pos;
            int flags = Short.toUnsignedInt(ring.get(JAVA_SHORT_UNALIGNED, d + 14));
            if (n > 0 && !available(flags, wrap)) {
                markBroken("the chain at position " + availPos + " continues into descriptor " + pos + ", not available");
                return -Errno.EINVAL;
            }
            long addr = ring.get(JAVA_LONG_UNALIGNED, d);
            long len = Integer.toUnsignedLong(ring.get(JAVA_INT_UNALIGNED, d + 8));
            int id = Short.toUnsignedInt(ring.get(JAVA_SHORT_UNALIGNED, d + 12));
            if (inflightLog != null) {
                if (n == 0) {
                    t.inflightEntry = inflightLog.begin();
                }
                inflightLog.add(t.inflightEntry, addr, len, flags, id, (flags & Virtio.DESC_F_NEXT) == 0);
            }
            n++;
            if (++pos == size) {
                pos = 0;
                wrap = !wrap;
            }
            if (rc == 0) {
                rc = buffer(t, addr, len, flags);
            }
            if ((flags & Virtio.DESC_F_NEXT) == 0) {
                t.head = id;
                break;
            }
        }
        availPos = pos;
        availWrap = wrap;
        t.ringDescs = n;
        return rc;
    }

    /** One ring descriptor's buffer, or the buffers of the indirect table it points to. */
    private int buffer(BlkTask t, long addr, long len, int flags) {
        if ((flags & Virtio.DESC_F_INDIRECT) == 0) {
            return addBuffer(t, addr, len, (flags & Virtio.DESC_F_WRITE) != 0);
        }
        if ((flags & Virtio.DESC_F_NEXT) != 0 || t.segCount > 0 || t.sawWritable) {
            return -Errno.EINVAL; // an indirect descriptor is the whole chain
        }
        int rc = mapIndirect(addr, len);
        if (rc != 0) {
            return rc;
        }
        // Packed indirect tables are used in order, all of them; WRITE is the only flag that counts (2.8.19).
        for (int i = 0; i < tableCount; i++) {
            long d = tableOffset + 16L * i;
            int f = Short.toUnsignedInt(table.get(JAVA_SHORT_UNALIGNED, d + 14));
            if ((f & Virtio.DESC_F_INDIRECT) != 0) {
                return -Errno.EINVAL;
            }
            rc = addBuffer(t, table.get(JAVA_LONG_UNALIGNED, d),
                    Integer.toUnsignedLong(table.get(JAVA_INT_UNALIGNED, d + 8)), (f & Virtio.DESC_F_WRITE) != 0);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }

    @Override
    void writeUsed(BlkTask t) {
        int pos = usedPos;
        long d = 16L * pos;
        short flags = (short) (usedWrap ? Virtio.PACKED_DESC_F_AVAIL | Virtio.PACKED_DESC_F_USED : 0);
        usedPos += t.ringDescs;
        if (usedPos >= size) {
            usedPos -= size;
            usedWrap = !usedWrap;
        }
        if (inflightLog != null) {
            inflightLog.returned(t.inflightEntry, usedPos, usedWrap); // before the used descriptor
        }
        ring.set(JAVA_INT_UNALIGNED, d + 8, t.usedLength);
        ring.set(JAVA_SHORT_UNALIGNED, d + 12, (short) t.head);
        if (pendingUsed == 0 && inflightLog == null) {
            firstPendingPos = pos; // the batch's first flags wait for publish
            firstPendingFlags = flags;
        } else {
            VarHandle.releaseFence(); // id and length before the flags
            ring.set(JAVA_SHORT_UNALIGNED, d + 14, flags);
        }
        if (inflightLog != null) {
            inflightLog.committed(t.inflightEntry);
            t.inflightEntry = -1;
        }
        DirtyLog l = log;
        if (l != null && ringLogGpa >= 0) {
            l.mark(ringLogGpa + d, 16);
        }
        pendingUsed++;
        advanced += t.ringDescs;
        ringHeld -= t.ringDescs;
    }

    @Override
    int publish() {
        if (pendingUsed == 0) {
            return 0;
        }
        int n = pendingUsed;
        pendingUsed = 0;
        if (firstPendingPos >= 0) {
            VarHandle.releaseFence(); // the whole batch before its first descriptor's flags
            ring.set(JAVA_SHORT_UNALIGNED, 16L * firstPendingPos + 14, firstPendingFlags);
            firstPendingPos = -1;
        }
        VarHandle.fullFence(); // the flags before reading the driver's suppression state
        int flags = Short.toUnsignedInt(driverEvent.get(JAVA_SHORT, 2)) & 3;
        boolean wanted;
        if (flags == Virtio.RING_EVENT_FLAGS_DISABLE) {
            wanted = false;
        } else if (flags == Virtio.RING_EVENT_FLAGS_DESC && eventIdx && advanced < size) {
            wanted = passedEvent(Short.toUnsignedInt(driverEvent.get(JAVA_SHORT, 0)));
        } else {
            wanted = true; // enabled, or too much moved to tell: signal rather than leave the driver waiting
        }
        advanced = 0;
        signalledPos = usedPos;
        signalledWrap = usedWrap;
        if (wanted) {
            signal();
        }
        return n;
    }

    /**
     * Whether the used position moved past the driver's event position (bits 0-14) on its wrap counter (bit 15)
     * since the last signal: positions unrolled onto one line where the current lap starts at 0.
     */
    private boolean passedEvent(int offWrap) {
        int event = offWrap & 0x7fff;
        if (((offWrap & 0x8000) != 0) != usedWrap) {
            event -= size;
        }
        int old = signalledPos;
        if (signalledWrap != usedWrap) {
            old -= size;
        }
        return Virtio.needEvent(event & 0xffff, usedPos, old & 0xffff);
    }
}
