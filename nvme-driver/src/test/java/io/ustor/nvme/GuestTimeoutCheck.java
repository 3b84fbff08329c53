package io.ustor.nvme;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.IovaMode;
import io.ustor.nvme.bdev.NvmeBdevController;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.ustor.nvme.GuestProgram.check;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs in the guest against a controller whose drive the host throttles (QEMU throttling at a few KiB/s), so that
 * commands really time out: attached as bdev Slow0n1 with a 2 s I/O timeout, {@value #READS} reads of 64 KiB are
 * submitted at once. The driver's timed poller must send Abort for a command past the timeout (QEMU answers "not
 * aborted"), and as the command is still outstanding a timeout later, reset the controller: every read must
 * complete (success, or failed by the reset; none may hang), and the controller must be enabled again. The program
 * prints "RESET DONE", waits for the host to lift the throttle ({@code GO_FILE} appears) and checks that new I/O
 * (write, read back, compare) succeeds. {@code GuestTimeoutCheck BDF GO_FILE}.
 */
public final class GuestTimeoutCheck {
    static final int READS = 4;
    static final int SIZE = 65536;

    public static void main(String[] args) throws Exception {
        String bdf = args[0];
        Path go = Path.of(args[1]);
        DmaMemory dma = DmaMemory.open(DmaOptions.defaults().withIovaMode(IovaMode.VA));
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("0x1"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE))) {
            BdevRegistry bdevs = new BdevRegistry(group);
            NvmeBdevController c = NvmeBdevController.attach("Slow0", bdf, dma, bdevs,
                    NvmeControllerOptions.defaults().withIoTimeoutMs(2000));
            System.out.println("attached " + c.describe());
            DmaBuffer mem = dma.allocate((READS + 2L) * SIZE, 4096);
            Reactor r = group.reactor(0);
            AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger(), aborted = new AtomicInteger();
            CompletableFuture<Void> all = new CompletableFuture<>();
            CompletableFuture<BdevDesc> opened = new CompletableFuture<>();
            BdevChannel[] chHolder = new BdevChannel[1];
            r.submit(() -> {
                BdevDesc d = bdevs.open("Slow0n1", true, (t, x) -> {
                });
                chHolder[0] = d.getIoChannel();
                opened.complete(d);
                int bs = d.bdev().blockSize();
                for (int i = 0; i < READS; i++) {
                    int rc = d.read(chHolder[0], mem.segment().asSlice((long) i * SIZE, SIZE), (long) i * (SIZE / bs) * 4,
                            SIZE / bs, (io, success, a) -> {
                                if (success) {
                                    ok.incrementAndGet();
                                } else {
                                    failed.incrementAndGet();
                                    if (io.status() == BdevIoStatus.ABORTED) {
                                        aborted.incrementAndGet();
                                    }
                                }
                                if (ok.get() + failed.get() == READS) {
                                    all.complete(null);
                                }
                            }, null);
                    check(rc == 0, "read " + i + " submitted: " + rc);
                }
            });
            BdevDesc d = opened.get(30, TimeUnit.SECONDS);
            // every read completes: the timed-out ones through Abort and then the controller reset
            all.get(120, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (c.resetCount() == 0 && c.abortedCount() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            System.out.println("RESET DONE resets=" + c.resetCount() + " abortsSent=" + c.abortCount() + " abortedByController="
                    + c.abortedCount() + " readsOk=" + ok + " readsFailed=" + failed + " (aborted " + aborted + ") controller "
                    + c.describe());
            System.out.flush();
            check(c.abortCount() >= 1, "an Abort was sent for the timed-out command");
            check(failed.get() >= 1, "the timed-out reads completed with an error, not silently");
            // QEMU's controller does not abort a command in flight: then the driver must have reset the controller
            check(c.abortedCount() > 0 || c.resetCount() >= 1, "the controller was reset after the abort did not finish the command");
            check(!c.controller().isFailed(), "the controller works after the reset: " + c.controller().failure());

            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(go) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            check(Files.exists(go), "the host lifted the throttle (" + go + ")");

            MemorySegment w = mem.segment().asSlice((long) READS * SIZE, SIZE);
            MemorySegment rd = mem.segment().asSlice((long) (READS + 1) * SIZE, SIZE);
            for (long i = 0; i < SIZE; i += 8) {
                w.set(JAVA_LONG, i, i * 0x9E3779B97F4A7C15L + 7);
            }
            CompletableFuture<String> after = new CompletableFuture<>();
            r.submit(() -> {
                int bs = d.bdev().blockSize();
                long lba = 8192 / bs * 64;
                int rc = d.write(chHolder[0], w, lba, SIZE / bs, (io, success, a) -> {
                    if (!success) {
                        after.complete("write after reset failed: " + io);
                        return;
                    }
                    int rc2 = d.read(chHolder[0], rd, lba, SIZE / bs, (io2, ok2, a2) ->
                            after.complete(!ok2 ? "read after reset failed: " + io2 : w.mismatch(rd) != -1 ? "data differs" : "ok"), null);
                    if (rc2 < 0) {
                        after.complete("read after reset not submitted: " + rc2);
                    }
                }, null);
                if (rc < 0) {
                    after.complete("write after reset not submitted: " + rc);
                }
            });
            String result = after.get(60, TimeUnit.SECONDS);
            System.out.println("I/O after reset: " + result);
            check(result.equals("ok"), "I/O after reset: " + result);
            CompletableFuture<Void> closed = new CompletableFuture<>();
            r.submit(() -> {
                d.putIoChannel(chHolder[0]);
                d.close();
                closed.complete(null);
            });
            closed.get(30, TimeUnit.SECONDS);
            c.detach().get(30, TimeUnit.SECONDS);
            System.out.println("TIMEOUT CHECKS PASSED");
            System.out.flush();
        }
        System.exit(0);
    }
}
