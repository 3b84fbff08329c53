package io.ustor.vhost.server;

import io.ustor.bdev.BdevDesc;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;
import io.ustor.vhost.virtio.Virtio;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A split virtqueue (virtio 1.2 2.7), device side: heads from the available ring, chains through the descriptor
 * table's next fields (or an indirect table), used entries in the used ring with one index update per poll. A
 * head is in flight at most once, so the task of a request is the one of its head. With the front end's inflight
 * buffer, requests a previous back end took and never returned are resubmitted at start.
 */
final class SplitServerQueue extends ServerQueue {
    private final MemorySegment desc, avail, used;
    private final InflightQueue inflightLog;
    private int lastAvail, usedIdx, signalledUsed, pendingUsed;

    SplitServerQueue(String controller, int index, int size, GuestMemory mem, MemorySegment desc, MemorySegment avail,
                     MemorySegment used, int lastAvail, boolean eventIdx, boolean indirect, boolean readOnly,
                     BdevDesc bdev, int callFd, Reactor reactor, MemorySegment inflightRegion) {
        super(controller, index, size, mem, eventIdx, indirect, readOnly, bdev, callFd, reactor);
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.lastAvail = lastAvail & 0xffff;
        this.inflightLog = inflightRegion == null ? null : new InflightQueue(inflightRegion, size);
    }

    /**
     * With an inflight buffer, requests a previous back end took but never returned are resubmitted (oldest first)
     * and the next available index follows from them, whatever base the front end sent.
     */
    @Override
    void startRing() {
        usedIdx = Short.toUnsignedInt(used.get(JAVA_SHORT, 2));
        signalledUsed = usedIdx;
        int[] resubmit = null;
        if (inflightLog != null) {
            InflightQueue.Recovery r = inflightLog.recover(usedIdx);
            if (r.problem() != null) {
                LOG.log(System.Logger.Level.WARNING, "vhost {0}: inflight buffer ignored and reset: {1}", name, r.problem());
            }
            if (!r.fresh()) {
                int derived = (usedIdx + r.resubmit().length) & 0xffff;
                if (derived != lastAvail) {
                    LOG.log(System.Logger.Level.INFO, "vhost {0}: next available index {1} from the inflight buffer (front end said {2})",
                            name, Integer.toString(derived), Integer.toString(lastAvail));
                }
                lastAvail = derived;
                resubmit = r.resubmit();
            }
        }
        if (eventIdx) {
            setAvailEvent();
        } else {
            used.set(JAVA_SHORT, 0, (short) Virtio.USED_F_NO_NOTIFY);
            logRing(0, 2);
        }
        if (resubmit != null && resubmit.length > 0) {
            LOG.log(System.Logger.Level.INFO, "vhost {0}: resubmitting {1} request(s) left in flight",
                    name, Integer.toString(resubmit.length));
            resubmitted = resubmit.length;
            for (int head : resubmit) {
                BlkTask t = tasks[head];
                t.busy = true;
                inflight++;
                requests++;
                t.reset(head);
                serve(t, walkChain(t));
            }
        }
    }

    @Override
    int base() {
        return lastAvail;
    }

    /** Event index far ahead of the driver: it never needs to kick a polled queue. */
    private void setAvailEvent() {
        long off = 4 + 8L * size;
        used.set(JAVA_SHORT, off, (short) (lastAvail + 0x8000));
        logRing(off, 2);
    }

    private void logRing(long offset, long length) {
        DirtyLog l = log;
        if (l != null && ringLogGpa >= 0) {
            l.mark(ringLogGpa + offset, length);
        }
    }

    @Override
    int fetch() {
        int availIdx = Short.toUnsignedInt(avail.get(JAVA_SHORT, 2));
        VarHandle.acquireFence(); // ring entries after the index
        int pending = (availIdx - lastAvail) & 0xffff;
        if (pending == 0) {
            return 0;
        }
        if (pending > size) {
            markBroken("available index " + availIdx + " is " + pending + " ahead of " + lastAvail + ", beyond the ring size " + size);
            return 0;
        }
        int taken = 0;
        while (taken < pending) {
            int head = Short.toUnsignedInt(avail.get(JAVA_SHORT, 4 + 2L * (lastAvail & (size - 1))));
            if (head >= size) {
                markBroken("head " + head + " in available slot " + lastAvail + " beyond the ring size " + size);
                break;
            }
            BlkTask t = tasks[head];
            if (t.busy) {
                markBroken("head " + head + " made available again while in flight");
                break;
            }
            lastAvail = (lastAvail + 1) & 0xffff;
            taken++;
            t.busy = true;
            inflight++;
            requests++;
            if (inflightLog != null) {
                inflightLog.fetched(head);
            }
            t.reset(head);
            serve(t, walkChain(t));
        }
        if (eventIdx) {
            setAvailEvent();
        }
        return taken;
    }

    /**
     * Follows the chain from the task's head (through an indirect table when there is one) into guest-memory
     * segments: 0, or -errno for any rule broken (index out of the table, loop, address outside guest memory,
     * readable after writable, bad indirect descriptor, too many segments).
     */
    private int walkChain(BlkTask t) {
        MemorySegment tbl = desc;
        long tableBase = 0;
        int tableSize = size;
        int idx = t.head;
        int walked = 0;
        boolean inIndirect = false;
        while (true) {
            if (idx >= tableSize || ++walked > tableSize) {
                return -Errno.EINVAL; // out of the table, or a loop
            }
            long d = tableBase + (long) idx * Virtio.DESC_SIZE;
            long addr = tbl.get(JAVA_LONG_UNALIGNED, d);
            long len = Integer.toUnsignedLong(tbl.get(JAVA_INT_UNALIGNED, d + 8));
            int flags = Short.toUnsignedInt(tbl.get(JAVA_SHORT_UNALIGNED, d + 12));
            int next = Short.toUnsignedInt(tbl.get(JAVA_SHORT_UNALIGNED, d + 14));
            if ((flags & Virtio.DESC_F_INDIRECT) != 0) {
                if (inIndirect || (flags & Virtio.DESC_F_NEXT) != 0) {
                    return -Errno.EINVAL;
                }
                int rc = mapIndirect(addr, len);
                if (rc != 0) {
                    return rc;
                }
                tbl = table;
                tableBase = tableOffset;
                tableSize = tableCount;
                idx = 0;
                walked = 0;
                inIndirect = true;
                continue;
            }
            int rc = addBuffer(t, addr, len, (flags & Virtio.DESC_F_WRITE) != 0);
            if (rc != 0) {
                return rc;
            }
            if ((flags & Virtio.DESC_F_NEXT) == 0) {
                return 0;
            }
            idx = next;
        }
    }

    @Override
    void writeUsed(BlkTask t) {
        long e = 4 + 8L * (usedIdx & (size - 1));
        used.set(JAVA_INT, e, t.head);
        used.set(JAVA_INT, e + 4, t.usedLength);
        logRing(e, 8);
        usedIdx = (usedIdx + 1) & 0xffff;
        pendingUsed++;
        if (inflightLog != null) {
            inflightLog.returned(t.head);
        }
    }

    @Override
    int publish() {
        if (pendingUsed == 0) {
            return 0;
        }
        int n = pendingUsed;
        pendingUsed = 0;
        VarHandle.releaseFence(); // used entries before the index
        used.set(JAVA_SHORT, 2, (short) usedIdx);
        logRing(2, 2);
        if (inflightLog != null) {
            inflightLog.published(usedIdx);
        }
        VarHandle.fullFence(); // the index before reading the driver's suppression state
        boolean wanted;
        if (eventIdx) {
            int usedEvent = Short.toUnsignedInt(avail.get(JAVA_SHORT, 4 + 2L * size));
            wanted = Virtio.needEvent(usedEvent, usedIdx, signalledUsed);
        } else {
            wanted = (avail.get(JAVA_SHORT, 0) & Virtio.AVAIL_F_NO_INTERRUPT) == 0;
        }
        signalledUsed = usedIdx;
        if (wanted) {
            signal();
        }
        return n;
    }
}
