package io.ustor.nvme;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.Errno;
import io.ustor.env.IovaMode;
import io.ustor.nvme.internal.NvmeCommands;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs inside the test guest against QEMU's emulated NVMe: {@code GuestNvmeCheck BDF va|pa [trim-zeroes]}. Prints one
 * "CHECK name ok" line per check and "QD1 reads/s N"; exits 1 on the first failure.
 */
public final class GuestNvmeCheck {
    private static final class Waiter implements NvmeCompletion {
        int done, failed, lastStatus;

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            done++;
            if (status != 0) {
                failed++;
                lastStatus = status;
            }
        }
    }

    private final NvmeController ctrlr;
    private final NvmeQpair qp;
    private final NvmeNamespace ns;
    private final int bs;
    private final DmaBuffer wbuf, rbuf;
    private final Waiter w = new Waiter();
    static boolean expectTrimZeroes;

    private GuestNvmeCheck(NvmeController ctrlr, NvmeQpair qp, DmaMemory dma) {
        this.ctrlr = ctrlr;
        this.qp = qp;
        this.ns = ctrlr.namespaces().getFirst();
        this.bs = ns.blockSize();
        this.wbuf = dma.allocate(1 << 20, 4096);
        this.rbuf = dma.allocate(1 << 20, 4096);
    }

    public static void main(String[] args) throws Exception {
        String bdf = args[0];
        IovaMode mode = args.length > 1 && args[1].equals("pa") ? IovaMode.PA : IovaMode.VA;
        expectTrimZeroes = args.length > 2 && args[2].equals("trim-zeroes");
        DmaMemory dma = DmaMemory.open(DmaOptions.defaults().withIovaMode(mode));
        try (NvmeController c = NvmeController.attach("Nvme0", bdf, dma,
                NvmeControllerOptions.defaults().withIoQueueEntries(8).withIoQueueSlots(64))) {
            IdentifyController id = c.identify();
            System.out.println("identify: vid 0x" + Integer.toHexString(id.vendorId()) + " mn '" + id.modelNumber() + "' sn '"
                    + id.serialNumber() + "' fr '" + id.firmwareRevision() + "' ver " + id.versionString() + " mdts " + id.mdts()
                    + " oncs 0x" + Integer.toHexString(id.oncs()) + " vwc " + id.vwc() + " nn " + id.namespaceCount());
            for (NvmeNamespace n : c.namespaces()) {
                System.out.println("namespace: " + n);
            }
            check(!c.namespaces().isEmpty(), "identify: no namespaces");
            System.out.println("CHECK identify ok access=" + c.device().accessName() + " mqes=" + c.mqes() + " ioqueues=" + c.maxIoQueues());
            NvmeQpair qp = c.createIoQpair(0);
            System.out.println("CHECK create-qpair ok qid=" + qp.qid() + " entries=" + qp.entries() + " slots=" + qp.slots());
            new GuestNvmeCheck(c, qp, dma).run();
        }
        System.out.println("CHECK detach ok");
        dma.close();
        System.out.println("ALL CHECKS PASSED");
    }

    private void run() {
        System.out.println("block size " + bs + ", blocks " + ns.numBlocks());
        patterns();
        compare();
        scatter();
        queueFull();
        flush();
        writeZeroes();
        deallocate();
        logs();
        badLba();
        reset();
        qd1();
    }

    /** Write/read patterns of several sizes at the start, middle and end; sizes cover PRP1, PRP2 and PRP lists. */
    private void patterns() {
        long[] lbas = {0, ns.numBlocks() / 2, ns.numBlocks() - (262144 / bs)};
        int[] sizes = {bs, 8192, 12288, 65536, 262144};
        for (long lba : lbas) {
            for (int size : sizes) {
                int nlb = size / bs;
                if (lba + nlb > ns.numBlocks()) {
                    continue;
                }
                fill(wbuf.segment(), 0, size, lba * 31 + size);
                io(qp.write(ns.nsid(), lba, nlb, wbuf.address(), size, w, null), "write lba " + lba + " size " + size);
                rbuf.segment().asSlice(0, size).fill((byte) 0x5a);
                io(qp.read(ns.nsid(), lba, nlb, rbuf.address(), size, w, null), "read lba " + lba + " size " + size);
                checkSame(size, "pattern lba " + lba + " size " + size);
            }
        }
        // a buffer that starts inside a page (PRP1 with an offset) spanning three pages
        if (bs == 512) {
            long off = 1024;
            int size = 8192;
            fill(wbuf.segment(), off, size, 77);
            io(qp.write(ns.nsid(), 100, size / bs, wbuf.address() + off, size, w, null), "write offset buffer");
            io(qp.read(ns.nsid(), 100, size / bs, rbuf.address() + off, size, w, null), "read offset buffer");
            check(MemorySegment.mismatch(wbuf.segment(), off, off + size, rbuf.segment(), off, off + size) == -1, "offset buffer mismatch");
        }
        System.out.println("CHECK patterns ok");
    }

    private void compare() {
        fill(wbuf.segment(), 0, 4096, 1234);
        io(qp.write(ns.nsid(), 64, 4096 / bs, wbuf.address(), 4096, w, null), "write for compare");
        io(qp.compare(ns.nsid(), 64, 4096 / bs, wbuf.address(), 4096, w, null), "compare equal");
        wbuf.segment().set(JAVA_LONG, 8, ~wbuf.segment().get(JAVA_LONG, 8));
        int st = ioStatus(qp.compare(ns.nsid(), 64, 4096 / bs, wbuf.address(), 4096, w, null));
        check(st == NvmeStatus.COMPARE_FAILURE, "compare of different data gave " + NvmeStatus.name(st));
        System.out.println("CHECK compare ok (mismatch: " + NvmeStatus.name(st) + ")");
    }

    /** A scatter list of two page-aligned pieces in one command. */
    private void scatter() {
        fill(wbuf.segment(), 0, 4096, 9);
        fill(wbuf.segment(), 65536, 8192, 10);
        int cid = qp.begin(w, null);
        check(cid >= 0 && qp.addBuffer(cid, wbuf.address(), 4096) == 0 && qp.addBuffer(cid, wbuf.address() + 65536, 8192) == 0, "scatter build");
        io(qp.submitRw(cid, NvmeCommands.NVM_WRITE, ns.nsid(), 300, 12288 / bs, 0), "scatter write");
        io(qp.read(ns.nsid(), 300, 12288 / bs, rbuf.address(), 12288, w, null), "scatter read");
        check(MemorySegment.mismatch(wbuf.segment(), 0, 4096, rbuf.segment(), 0, 4096) == -1
                && MemorySegment.mismatch(wbuf.segment(), 65536, 65536 + 8192, rbuf.segment(), 4096, 12288) == -1, "scatter data");
        int bad = qp.begin(w, null);
        qp.addBuffer(bad, wbuf.address(), 1024);
        int rc = qp.addBuffer(bad, wbuf.address() + 8192, 4096);
        qp.cancel(bad);
        check(rc == -Errno.EINVAL, "a hole in the middle of a PRP list must be refused, got " + rc);
        System.out.println("CHECK scatter ok");
    }

    /** More commands than the queue holds: they wait for room and all complete. */
    private void queueFull() {
        int n = 48;
        for (int i = 0; i < n; i++) {
            fill(wbuf.segment(), i * 4096L, 4096, 500 + i);
            check(qp.write(ns.nsid(), 1000 + (long) i * (4096 / bs), 4096 / bs, wbuf.address() + i * 4096L, 4096, w, null) == 0, "submit " + i);
        }
        waitFor(n);
        check(qp.queuedFullCount() > 0, "no command waited for room");
        io(qp.read(ns.nsid(), 1000, n * 4096 / bs, rbuf.address(), n * 4096L, w, null), "read back");
        checkSame(n * 4096, "queue-full data");
        System.out.println("CHECK queue-full ok queued=" + qp.queuedFullCount());
    }

    private void flush() {
        io(qp.flush(ns.nsid(), w, null), "flush");
        System.out.println("CHECK flush ok");
    }

    private void writeZeroes() {
        fill(wbuf.segment(), 0, 65536, 42);
        io(qp.write(ns.nsid(), 2000, 65536 / bs, wbuf.address(), 65536, w, null), "write before zeroes");
        io(qp.writeZeroes(ns.nsid(), 2000, 65536 / bs, false, w, null), "write zeroes");
        io(qp.read(ns.nsid(), 2000, 65536 / bs, rbuf.address(), 65536, w, null), "read zeroes");
        checkZero(65536, "write zeroes");
        System.out.println("CHECK write-zeroes ok");
    }

    private void deallocate() {
        fill(wbuf.segment(), 0, 65536, 43);
        io(qp.write(ns.nsid(), 3000, 65536 / bs, wbuf.address(), 65536, w, null), "write before deallocate");
        io(qp.deallocate(ns.nsid(), 3000, 65536 / bs, w, null), "deallocate");
        io(qp.read(ns.nsid(), 3000, 65536 / bs, rbuf.address(), 65536, w, null), "read deallocated");
        boolean zero = true;
        for (long i = 0; i < 65536 && zero; i += 8) {
            zero = rbuf.segment().get(JAVA_LONG, i) == 0;
        }
        // deallocation is advisory; with a back end that discards (QEMU discard=unmap) the blocks must read as zeroes
        check(!expectTrimZeroes || zero, "deallocated blocks do not read as zeroes");
        System.out.println("CHECK deallocate ok readsZero=" + ns.deallocatedReadsZero() + " zeroed=" + zero);
    }

    private void logs() {
        SmartLog s = ctrlr.smartLog();
        System.out.println("smart: " + s);
        check(s.temperatureKelvin() > 200, "smart temperature");
        System.out.println("errors: " + ctrlr.errorLog(4));
        int nq = ctrlr.getFeature(NvmeCommands.FEAT_NUMBER_OF_QUEUES, 0);
        System.out.println("CHECK logs ok numberOfQueues=0x" + Integer.toHexString(nq));
    }

    private void badLba() {
        int st = ioStatus(qp.read(ns.nsid(), ns.numBlocks(), 1, rbuf.address(), bs, w, null));
        check(st == NvmeStatus.LBA_OUT_OF_RANGE, "read past the end gave " + NvmeStatus.name(st));
        System.out.println("CHECK status-decoding ok: " + NvmeStatus.name(st));
    }

    /** Reset with commands in flight: they complete (or fail ECANCELED) and new I/O works. */
    private void reset() {
        int before = w.done;
        int n = 16;
        for (int i = 0; i < n; i++) {
            check(qp.read(ns.nsid(), (long) i * 8, 4096 / bs, rbuf.address() + i * 4096L, 4096, w, null) == 0, "submit before reset");
        }
        qp.ringSq();
        int failedBefore = w.failed;
        ctrlr.reset();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (w.done - before < n && System.nanoTime() < deadline) {
            qp.processCompletions(0);
        }
        check(w.done - before == n, "commands lost in reset: " + (w.done - before) + " of " + n);
        int cancelled = w.failed - failedBefore;
        w.failed = failedBefore;
        fill(wbuf.segment(), 0, 4096, 99);
        io(qp.write(ns.nsid(), 4000, 4096 / bs, wbuf.address(), 4096, w, null), "write after reset");
        io(qp.read(ns.nsid(), 4000, 4096 / bs, rbuf.address(), 4096, w, null), "read after reset");
        checkSame(4096, "after reset");
        System.out.println("CHECK reset ok cancelled=" + cancelled + " of " + n);
    }

    private void qd1() {
        int nlb = 4096 / bs;
        long span = ns.numBlocks() / nlb;
        long t0 = System.nanoTime();
        int count = 0;
        while (System.nanoTime() - t0 < 3_000_000_000L) {
            long lba = ((count * 7919L) % span) * nlb;
            io(qp.read(ns.nsid(), lba, nlb, rbuf.address(), 4096, w, null), "qd1 read");
            count++;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("QD1 reads/s %.0f (%d 4 KiB reads in %.2f s)%n", count / secs, count, secs);
        System.out.println("CHECK qd1 ok");
    }

    // ---- helpers ----

    private void io(int rc, String what) {
        int st = ioStatus(rc);
        check(st == 0, what + ": " + NvmeStatus.name(st));
    }

    /** Waits for one command submitted with return code {@code rc}; returns its status. */
    private int ioStatus(int rc) {
        if (rc < 0) {
            return rc;
        }
        int failedBefore = w.failed;
        waitFor(1);
        return w.failed > failedBefore ? w.lastStatus : 0;
    }

    private void waitFor(int n) {
        int target = w.done + n;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (w.done < target) {
            qp.processCompletions(0);
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + (target - w.done) + " completions");
            }
        }
    }

    private void checkSame(int size, String what) {
        long m = MemorySegment.mismatch(wbuf.segment(), 0, size, rbuf.segment(), 0, size);
        check(m == -1, what + ": data differs at byte " + m);
    }

    private void checkZero(int size, String what) {
        for (long i = 0; i < size; i += 8) {
            check(rbuf.segment().get(JAVA_LONG, i) == 0, what + ": byte " + i + " is not zero");
        }
    }

    private static void fill(MemorySegment m, long off, long size, long seed) {
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (long i = 0; i < size; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            m.set(JAVA_LONG, off + i, x);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("FAILED: " + what);
        }
    }
}
