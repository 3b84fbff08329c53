package io.ustor.nvme;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevEventType;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.Errno;
import io.ustor.env.IovaMode;
import io.ustor.env.pci.VfioPciDevice;
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

import static io.ustor.nvme.GuestProgram.check;

/**
 * Runs in the guest, the controller at BDF bound to vfio-pci behind the IOMMU: attaches it as bdev Nvme0n1, keeps 8
 * reads in flight, prints "IO RUNNING" and waits for the host to hot-remove the device (QEMU device_del). Then the
 * outstanding reads must fail with ENODEV (not hang), the descriptor must get REMOVE, Nvme0n1 must be unregistered,
 * the controller must close itself (queues freed, DMA unmapped, VFIO descriptors closed) so that the kernel
 * finishes the removal: /sys/bus/pci/devices/BDF disappears while this process still runs. The process goes on
 * (a malloc bdev serves a read) and exits 0 with "HOT REMOVE PASSED". {@code GuestVfioHotRemoveCheck BDF}.
 */
public final class GuestVfioHotRemoveCheck {
    static final int QD = 8;

    /** Reactor-confined read loop. */
    static final class Loop implements BdevIoCallback {
        BdevDesc desc;
        BdevChannel ch;
        final MemorySegment[] bufs = new MemorySegment[QD];
        long blocks, next;
        volatile long ok, failedEnodev, failedOther, submitEnodev, submitOther;
        volatile int otherErrno;
        volatile boolean removeEvent;
        int outstanding;
        boolean stopping;
        final CompletableFuture<Void> drained = new CompletableFuture<>();

        void submit(int slot) {
            long lba = (next++ * 97) % (blocks - 8);
            int rc = desc.read(ch, bufs[slot], lba, 4096 / desc.bdev().blockSize(), this, slot);
            if (rc < 0) {
                if (rc == -Errno.ENODEV) {
                    submitEnodev++;
                } else {
                    submitOther++;
                    otherErrno = -rc;
                }
                stopping = true;
                outstanding--;
                maybeDrained();
            }
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object arg) {
            outstanding--;
            if (success) {
                ok++;
            } else {
                if (io.errno() == Errno.ENODEV) {
                    failedEnodev++;
                } else {
                    failedOther++;
                    otherErrno = io.errno();
                }
                stopping = true;
            }
            if (!stopping && !removeEvent) {
                outstanding++;
                submit((Integer) arg);
                return;
            }
            maybeDrained();
        }

        void maybeDrained() {
            if (outstanding == 0 && (stopping || removeEvent) && !drained.isDone()) {
                // release the channel outside the completion that is still being finished
                Reactor.current().submit(() -> {
                    desc.putIoChannel(ch);
                    desc.close();
                    drained.complete(null);
                });
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String bdf = args[0];
        DmaMemory dma = DmaMemory.open(DmaOptions.defaults().withIovaMode(IovaMode.VA));
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("0x1"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE))) {
            BdevRegistry bdevs = new BdevRegistry(group);
            NvmeBdevController c = NvmeBdevController.attach("Nvme0", bdf, dma, bdevs, NvmeControllerOptions.defaults());
            check(c.controller().device() instanceof VfioPciDevice v && v.hasRemovalNotice(),
                    "VFIO device with a device request interrupt: " + c.controller().device());
            System.out.println("attached " + c.describe());
            DmaBuffer mem = dma.allocate(QD * 4096L, 4096);
            Loop loop = new Loop();
            Reactor r = group.reactor(0);
            CompletableFuture<Void> started = new CompletableFuture<>();
            r.submit(() -> {
                loop.desc = bdevs.open("Nvme0n1", false, (type, d) -> {
                    if (type == BdevEventType.REMOVE) {
                        loop.removeEvent = true;
                        loop.maybeDrained();
                    }
                });
                loop.ch = loop.desc.getIoChannel();
                loop.blocks = loop.desc.bdev().numBlocks();
                for (int i = 0; i < QD; i++) {
                    loop.bufs[i] = mem.segment().asSlice(i * 4096L, 4096);
                }
                loop.outstanding = QD;
                for (int i = 0; i < QD; i++) {
                    loop.submit(i);
                }
                started.complete(null);
            });
            started.get(30, TimeUnit.SECONDS);
            while (loop.ok < 200) {
                Thread.sleep(50);
                check(!loop.drained.isDone(), "reads failed before the removal: enodev " + loop.failedEnodev
                        + " other " + loop.failedOther + " errno " + loop.otherErrno);
            }
            System.out.println("IO RUNNING ok=" + loop.ok);
            System.out.flush();

            // the host removes the device now; nothing below may hang
            loop.drained.get(120, TimeUnit.SECONDS);
            System.out.println("drained: ok=" + loop.ok + " failedEnodev=" + loop.failedEnodev + " failedOther="
                    + loop.failedOther + " submitEnodev=" + loop.submitEnodev + " submitOther=" + loop.submitOther
                    + " otherErrno=" + loop.otherErrno + " removeEvent=" + loop.removeEvent);
            check(loop.failedEnodev > 0, "outstanding reads failed with ENODEV");
            check(loop.failedOther == 0 && loop.submitOther == 0, "no read failed with another error ("
                    + Errno.name(loop.otherErrno) + ")");
            check(c.controller().isRemoved(), "the controller saw the removal: " + c.controller().failure());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((bdevs.lookup("Nvme0n1") != null || !loop.removeEvent) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            check(loop.removeEvent, "the descriptor got REMOVE");
            check(bdevs.lookup("Nvme0n1") == null, "Nvme0n1 unregistered");
            while (!c.controller().isClosed() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            check(c.controller().isClosed(), "the controller closed itself (queues, DMA mappings, VFIO fds)");
            Path sysfs = Path.of("/sys/bus/pci/devices", bdf);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (Files.exists(sysfs) && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            check(!Files.exists(sysfs), sysfs + " is gone while the process runs: the kernel finished the removal");
            System.out.println("DEVICE RELEASED: " + sysfs + " gone; controller " + c.describe());

            // the process lives on: detach is clean, and another bdev serves I/O on the same reactor
            c.detach().get(30, TimeUnit.SECONDS);
            bdevs.register(MallocBdev.create("Malloc9", 2048, 512, null));
            CompletableFuture<Boolean> read = new CompletableFuture<>();
            r.submit(() -> {
                BdevDesc d = bdevs.open("Malloc9", false, (t, x) -> {
                });
                BdevChannel ch = d.getIoChannel();
                int rc = d.read(ch, mem.segment().asSlice(0, 4096), 0, 8, (io, ok, a) -> Reactor.current().submit(() -> {
                    d.putIoChannel(ch);
                    d.close();
                    read.complete(ok);
                }), null);
                if (rc < 0) {
                    read.complete(false);
                }
            });
            check(read.get(30, TimeUnit.SECONDS), "a malloc bdev read after the removal");
            bdevs.unregister("Malloc9").get(30, TimeUnit.SECONDS);
            System.out.println("HOT REMOVE PASSED");
            System.out.flush();
        }
        System.exit(0);
    }
}
