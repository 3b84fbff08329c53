package io.ustor.nvme.model;

import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.NvmeQpair;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The arrangement of the nvme bdev module over the model: a queue pair owned by a reactor, completed by that
 * reactor's poller, while the model runs on its own thread. 2000 writes then reads of 4 KiB at QD16, each block
 * tagged with its LBA and checked on read.
 */
class NvmeModelReactorTest {
    private static final int IOS = 2000, DEPTH = 16;

    @Test
    void queuePairOnAReactorAgainstTheModelThread() throws Exception {
        DmaMemory dma = ModelFixture.hugeDma();
        try (dma; ModelFixture f = new ModelFixture(dma, NvmeModelOptions.defaults().withNamespaceBytes(16L << 20),
                NvmeControllerOptions.defaults());
             ReactorGroup group = ReactorGroup.start(CoreMask.of(0), ReactorOptions.defaults().withPinThreads(false))) {
            Reactor r = group.reactor(0);
            CompletableFuture<long[]> result = new CompletableFuture<>();
            r.submit(() -> new Job(f, dma, r, result).start());
            long[] counts = result.get(60, TimeUnit.SECONDS);
            assertEquals(IOS, counts[0], "writes");
            assertEquals(IOS, counts[1], "reads checked");
            assertEquals(0, counts[2], "errors");
            assertEquals(0, f.model.lostCompletions());
        }
    }

    /** Runs on the reactor: writes every block, then reads and checks every block, DEPTH at a time. */
    private static final class Job implements NvmeCompletion {
        private final ModelFixture f;
        private final Reactor reactor;
        private final CompletableFuture<long[]> result;
        private final NvmeQpair qp;
        private final DmaBuffer[] buffers = new DmaBuffer[DEPTH];
        private PollerHandle poller;
        private int next, inFlight;
        private boolean reading;
        private long writes, reads, errors;

        Job(ModelFixture f, DmaMemory dma, Reactor reactor, CompletableFuture<long[]> result) {
            this.f = f;
            this.reactor = reactor;
            this.result = result;
            this.qp = f.ctrlr.createIoQpair(0);
            for (int i = 0; i < DEPTH; i++) {
                buffers[i] = dma.allocate(4096, 4096);
            }
        }

        void start() {
            NvmeQpair q = qp;
            poller = reactor.addPoller("nvme Model0 qpair", () -> q.processCompletions(0));
            for (int i = 0; i < DEPTH; i++) {
                submit(i);
            }
        }

        private void submit(int slot) {
            int lba = next++;
            MemorySegment s = buffers[slot].segment();
            int rc;
            if (reading) {
                s.fill((byte) 0);
                rc = qp.read(1, lba * 8L, 8, s.address(), 4096, this, new int[]{slot, lba});
            } else {
                for (int i = 0; i < 4096; i += 8) {
                    s.set(JAVA_LONG, i, lba * 1_000_003L + i);
                }
                rc = qp.write(1, lba * 8L, 8, s.address(), 4096, this, new int[]{slot, lba});
            }
            if (rc != 0) {
                errors++;
                return;
            }
            inFlight++;
        }

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            inFlight--;
            int[] slotLba = (int[]) arg;
            if (status != 0) {
                errors++;
            } else if (reading) {
                MemorySegment s = buffers[slotLba[0]].segment();
                for (int i = 0; i < 4096; i += 8) {
                    if (s.get(JAVA_LONG, i) != slotLba[1] * 1_000_003L + i) {
                        errors++;
                        break;
                    }
                }
                reads++;
            } else {
                writes++;
            }
            if (next < IOS) {
                submit(slotLba[0]);
            } else if (inFlight == 0) {
                if (!reading) {
                    reading = true;
                    next = 0;
                    for (int i = 0; i < DEPTH; i++) {
                        submit(i);
                    }
                } else {
                    finish();
                }
            }
        }

        private void finish() {
            poller.unregister();
            f.ctrlr.deleteIoQpair(qp);
            for (DmaBuffer b : buffers) {
                b.free();
            }
            result.complete(new long[]{writes, reads, errors});
        }
    }
}
