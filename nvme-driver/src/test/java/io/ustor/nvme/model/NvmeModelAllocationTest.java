package io.ustor.nvme.model;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeQpair;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Submit + complete through the driver with the model stepped inline allocates nothing once warm: the per-I/O path
 * of both (the queue pair's submission and completion, the model's fetch, PRP walk, copy and completion) measured
 * with the thread's allocation counter, as perf's NvmeModelSubmitBench reports it.
 */
class NvmeModelAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int IOS_PER_BATCH = 4096;

    @Test
    void readsAndWritesAllocateNothingOnceWarm() {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled());
        DmaMemory dma = ModelFixture.hugeDma();
        NvmeControllerModel model = NvmeControllerModel.create("Alloc0", "0000:ff:00.0",
                NvmeModelOptions.defaults().withNamespaceBytes(8L << 20));
        try (dma; model) {
            model.start();
            NvmeController c = NvmeController.attach("Alloc0", model.device(), dma, NvmeControllerOptions.defaults());
            NvmeQpair qp = c.createIoQpair(64);
            model.stop();
            Loop loop = new Loop(model, qp, dma);
            try {
                long least = Long.MAX_VALUE;
                // until a batch allocates nothing (the JIT compiled the path), at most 200 batches; a loaded machine
                // can leave a few stray bytes per batch, so the bound is under a byte per I/O
                for (int batch = 0; batch < 200 && least != 0; batch++) {
                    long before = THREADS.getCurrentThreadAllocatedBytes();
                    loop.run();
                    least = Math.min(least, THREADS.getCurrentThreadAllocatedBytes() - before);
                }
                assertTrue(least < IOS_PER_BATCH, "least bytes per batch of " + IOS_PER_BATCH + " I/Os: " + least);
                assertEquals(0, loop.errors);
            } finally {
                model.start();
                c.deleteIoQpair(qp);
                loop.free();
                c.close();
            }
        }
    }

    /** QD8 of alternating 4 KiB writes and reads, resubmitted from the callback, the model stepped between polls. */
    private static final class Loop implements NvmeCompletion {
        private static final Integer[] SLOTS = {0, 1, 2, 3, 4, 5, 6, 7};
        private final NvmeControllerModel model;
        private final NvmeQpair qp;
        private final DmaBuffer[] buffers = new DmaBuffer[8];
        private int left, inFlight;
        private long lba;
        long errors;

        Loop(NvmeControllerModel model, NvmeQpair qp, DmaMemory dma) {
            this.model = model;
            this.qp = qp;
            for (int i = 0; i < buffers.length; i++) {
                buffers[i] = dma.allocate(4096, 4096);
            }
        }

        void run() {
            left = IOS_PER_BATCH;
            for (int i = 0; i < buffers.length; i++) {
                submit(i);
            }
            while (inFlight > 0) {
                qp.processCompletions(0);
                model.process();
            }
        }

        private void submit(int slot) {
            left--;
            long at = lba;
            lba = (lba + 8) & 1023;
            DmaBuffer b = buffers[slot];
            int rc = (left & 1) == 0 ? qp.write(1, at, 8, b.address(), 4096, this, SLOTS[slot])
                    : qp.read(1, at, 8, b.address(), 4096, this, SLOTS[slot]);
            if (rc != 0) {
                throw new IllegalStateException("submit: " + rc);
            }
            inFlight++;
        }

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            inFlight--;
            if (status != 0) {
                errors++;
            }
            if (left > 0) {
                submit((Integer) arg);
            }
        }

        void free() {
            for (DmaBuffer b : buffers) {
                b.free();
            }
        }
    }
}
