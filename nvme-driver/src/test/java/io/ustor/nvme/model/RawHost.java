package io.ustor.nvme.model;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A bare host side for testing the model against the specification without the driver: hand-written submission
 * entries, raw register writes, the model stepped inline ({@link NvmeControllerModel#process()}), so tests can
 * build what the driver never would (chained PRP lists, bad offsets, invalid queue commands).
 */
final class RawHost implements AutoCloseable {
    static final int CAP = 0x00, VS = 0x08, CC = 0x14, CSTS = 0x1c, AQA = 0x24, ASQ = 0x28, ACQ = 0x30;
    static final int CC_IO_SIZES = (4 << 20) | (6 << 16);
    private static final VarHandle INT = JAVA_INT.varHandle();

    /** One completion queue entry, decoded. */
    record Cqe(int dw0, int sqHead, int sqid, int cid, int status, boolean dnr) {
    }

    /** A submission/completion queue pair with the same id and size. */
    final class Queue {
        final int qid, size;
        final DmaBuffer sq, cq;
        int tail, head, phase = 1;
        private int nextCid;

        Queue(int qid, int size) {
            this.qid = qid;
            this.size = size;
            this.sq = dma.allocate(64L * size, 4096);
            this.cq = dma.allocate(16L * size, 4096);
            sq.segment().fill((byte) 0);
            cq.segment().fill((byte) 0);
        }

        /** Writes an entry and rings the SQ doorbell; returns its command id. */
        int submit(int opcode, int nsid, long prp1, long prp2, int cdw10, int cdw11, int cdw12, int cdw13) {
            int cid = nextCid++ & 0xffff;
            MemorySegment e = sq.segment().asSlice(64L * tail, 64);
            e.fill((byte) 0);
            e.set(JAVA_INT, 0, (opcode & 0xff) | cid << 16);
            e.set(JAVA_INT, 4, nsid);
            e.set(JAVA_LONG, 24, prp1);
            e.set(JAVA_LONG, 32, prp2);
            e.set(JAVA_INT, 40, cdw10);
            e.set(JAVA_INT, 44, cdw11);
            e.set(JAVA_INT, 48, cdw12);
            e.set(JAVA_INT, 52, cdw13);
            tail = (tail + 1) % size;
            INT.setRelease(bar, 0x1000L + 8L * qid, tail);
            return cid;
        }

        /** The next completion if one is posted (after stepping the model once), else null. */
        Cqe poll() {
            model.process();
            MemorySegment e = cq.segment().asSlice(16L * head, 16);
            int dw3 = (int) INT.getAcquire(e, 12L);
            if (((dw3 >>> 16) & 1) != phase) {
                return null;
            }
            if (++head == size) {
                head = 0;
                phase ^= 1;
            }
            INT.setRelease(bar, 0x1000L + 8L * qid + 4, head);
            int dw2 = e.get(JAVA_INT, 8);
            return new Cqe(e.get(JAVA_INT, 0), dw2 & 0xffff, dw2 >>> 16, dw3 & 0xffff, (dw3 >>> 17) & 0x7ff, dw3 < 0);
        }

        /** Submits and returns the completion, which must come on the first step. */
        Cqe run(int opcode, int nsid, long prp1, long prp2, int cdw10, int cdw11, int cdw12, int cdw13) {
            int cid = submit(opcode, nsid, prp1, prp2, cdw10, cdw11, cdw12, cdw13);
            Cqe c = poll();
            if (c == null || c.cid() != cid) {
                throw new AssertionError("no completion for command " + cid + " on queue " + qid + ": " + c);
            }
            return c;
        }

        void free() {
            sq.free();
            cq.free();
        }
    }

    final NvmeControllerModel model;
    final DmaMemory dma;
    final MemorySegment bar;
    final Queue admin;

    RawHost(NvmeControllerModel model, DmaMemory dma) {
        this.model = model;
        this.dma = dma;
        this.bar = model.device().bar(0);
        model.device().attachDma(dma);
        model.device().enableBusMastering();
        this.admin = new Queue(0, 16);
        write32(AQA, (15 << 16) | 15);
        write64(ASQ, admin.sq.address());
        write64(ACQ, admin.cq.address());
        write32(CC, CC_IO_SIZES | 1);
        model.process();
        if ((read32(CSTS) & 1) == 0) {
            throw new AssertionError("controller not ready: CSTS 0x" + Integer.toHexString(read32(CSTS)) + ", " + model.fatalReason());
        }
    }

    /** Creates I/O CQ and SQ {@code qid} of {@code size} entries. */
    Queue createQueue(int qid, int size) {
        Queue q = new Queue(qid, size);
        Cqe c = admin.run(0x05, 0, q.cq.address(), 0, ((size - 1) << 16) | qid, 1, 0, 0);
        if (c.status() != 0) {
            throw new AssertionError("create CQ " + qid + ": status 0x" + Integer.toHexString(c.status()));
        }
        c = admin.run(0x01, 0, q.sq.address(), 0, ((size - 1) << 16) | qid, (qid << 16) | 1, 0, 0);
        if (c.status() != 0) {
            throw new AssertionError("create SQ " + qid + ": status 0x" + Integer.toHexString(c.status()));
        }
        return q;
    }

    int read32(long off) {
        return (int) INT.getVolatile(bar, off);
    }

    void write32(long off, int v) {
        INT.setVolatile(bar, off, v);
    }

    long read64(long off) {
        return (read32(off) & 0xffffffffL) | ((long) read32(off + 4) << 32);
    }

    void write64(long off, long v) {
        write32(off, (int) v);
        write32(off + 4, (int) (v >>> 32));
    }

    @Override
    public void close() {
        admin.free();
        model.close();
    }
}
