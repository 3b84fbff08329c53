package io.ustor.nvme.model;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevEventType;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.nvme.NvmeControllerOptions;
import io.ustor.nvme.bdev.NvmeBdevController;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The nvme bdev module over the controller model, on a reactor: I/O through the bdev layer, and a surprise removal
 * that only the channel's health poller can notice (nothing is waiting on the queue pair when it happens).
 */
class NvmeModelBdevTest {
    private DmaMemory dma;
    private ReactorGroup group;
    private BdevRegistry bdevs;
    private NvmeControllerModel model;

    @BeforeEach
    void start() {
        dma = ModelFixture.hugeDma();
        group = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(group);
        model = NvmeControllerModel.create("Model0", "0000:ff:00.0",
                NvmeModelOptions.defaults().withNamespaceBytes(8L << 20));
        model.start();
    }

    @AfterEach
    void stop() {
        bdevs.unregisterAll().join();
        group.close();
        model.close();
        dma.close();
    }

    /** Runs one bdev I/O on the reactor (opening a channel for it); true when it succeeded. */
    private boolean io(Reactor r, BdevDesc d, IoStart start) throws Exception {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        AtomicReference<BdevChannel> ch = new AtomicReference<>();
        int rc = r.call(() -> {
            ch.set(d.getIoChannel());
            return start.submit(ch.get(), (io, ok, arg) -> done.complete(ok));
        }).get(10, TimeUnit.SECONDS);
        boolean ok = rc == 0 && done.get(10, TimeUnit.SECONDS);
        r.call(() -> {
            d.putIoChannel(ch.get());
            return null;
        }).get(10, TimeUnit.SECONDS);
        return ok;
    }

    interface IoStart {
        int submit(BdevChannel ch, io.ustor.bdev.BdevIoCallback cb);
    }

    @Test
    void ioThroughTheBdevLayerThenASurpriseRemovalUnregistersTheBdev() throws Exception {
        NvmeBdevController c = NvmeBdevController.attach("Nvme0", model.device(), dma, bdevs,
                NvmeControllerOptions.defaults());
        assertEquals("0000:ff:00.0", c.traddr());
        assertNotNull(bdevs.lookup("Nvme0n1"), "one bdev per namespace");
        CompletableFuture<Void> removeEvent = new CompletableFuture<>();
        BdevDesc d = bdevs.open("Nvme0n1", true, (type, desc) -> {
            if (type == BdevEventType.REMOVE) {
                removeEvent.complete(null);
            }
        });
        Reactor r = group.reactor(0);
        DmaBuffer w = dma.allocate(65536), back = dma.allocate(65536);
        try {
            long blocks = 65536 / d.bdev().blockSize();
            for (long i = 0; i < 65536; i += 8) {
                w.segment().set(JAVA_LONG, i, i * 31 + 5);
            }
            MemorySegment ws = w.segment(), bs = back.segment();
            assertTrue(io(r, d, (ch, cb) -> d.write(ch, ws, 100, blocks, cb, null)), "write");
            assertTrue(io(r, d, (ch, cb) -> d.read(ch, bs, 100, blocks, cb, null)), "read");
            assertEquals(-1, ws.mismatch(bs), "read back");
            assertTrue(io(r, d, (ch, cb) -> d.compare(ch, ws, 100, blocks, cb, null)), "compare");
            assertTrue(io(r, d, (ch, cb) -> d.writeZeroes(ch, 100, blocks, cb, null)), "write zeroes");
            assertTrue(io(r, d, (ch, cb) -> d.read(ch, bs, 100, blocks, cb, null)), "read zeroes");
            assertEquals(-1, bs.mismatch(MemorySegment.ofArray(new byte[65536])), "zeroes read back");

            // The device vanishes while a channel is open and idle: the health poller finds it, and the bdev goes.
            BdevChannel ch = r.call(d::getIoChannel).get(10, TimeUnit.SECONDS);
            model.remove();
            removeEvent.get(10, TimeUnit.SECONDS);
            CompletableFuture<Boolean> late = new CompletableFuture<>();
            int rc = r.call(() -> d.read(ch, bs, 0, 1, (io, ok, a) -> late.complete(ok), null)).get(10, TimeUnit.SECONDS);
            assertTrue(rc != 0 || !late.get(10, TimeUnit.SECONDS), "no I/O succeeds on a removed controller");
            r.call(() -> {
                d.putIoChannel(ch);
                return null;
            }).get(10, TimeUnit.SECONDS);
            d.close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (bdevs.lookup("Nvme0n1") != null || !c.controller().isClosed()) {
                assertTrue(System.nanoTime() < deadline, "bdev unregistered and controller closed after removal");
                Thread.sleep(10);
            }
            assertTrue(c.controller().isRemoved());
        } finally {
            w.free();
            back.free();
        }
    }
}
