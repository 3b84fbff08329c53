package io.ustor.daemon.guest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevEventType;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.daemon.RuntimeOptions;
import io.ustor.daemon.UstorRuntime;
import io.ustor.env.DmaBuffer;
import io.ustor.env.IovaMode;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs in the guest: a ustor runtime attaches the controller at BDF (bdev_nvme_attach_controller), keeps 8 reads in
 * flight on Nvme0n1 through the bdev layer, prints "IO RUNNING", and waits for the host to hot-remove the device
 * (QEMU device_del). Then: the outstanding reads must complete with an error (not hang), the descriptor must get
 * REMOVE, Nvme0n1 must be unregistered, and the runtime must keep working (a malloc bdev is created and listed).
 * {@code GuestHotRemoveCheck BDF va|pa}.
 */
public final class GuestHotRemoveCheck {
    static final int QD = 8;

    /** Reactor-confined state of the read loop. */
    static final class Loop implements BdevIoCallback {
        BdevDesc desc;
        BdevChannel ch;
        MemorySegment[] bufs = new MemorySegment[QD];
        long blocks;
        volatile long ok, failed, submitErrors;
        volatile int lastErrno;
        volatile boolean removeEvent;
        volatile int outstanding;
        boolean stopping;
        final CompletableFuture<Void> drained = new CompletableFuture<>();
        long next;

        void submit(int slot) {
            long lba = (next++ * 97) % (blocks - 8);
            int rc = desc.read(ch, bufs[slot], lba, 4096 / desc.bdev().blockSize(), this, slot);
            if (rc < 0) {
                submitErrors++;
                lastErrno = -rc;
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
                failed++;
                lastErrno = io.errno();
                stopping = true; // an error: the device is going; stop issuing
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
        IovaMode mode = args.length > 1 && args[1].equals("pa") ? IovaMode.PA : IovaMode.VA;
        ObjectMapper json = new ObjectMapper();
        RuntimeOptions o = RuntimeOptions.defaults().withCoreMask(CoreMask.parse("0x1")).withIdleMode(IdleMode.ADAPTIVE)
                .withIovaMode(mode);
        try (UstorRuntime rt = UstorRuntime.start(o)) {
            JsonNode names = rt.rpc().callAndWait("bdev_nvme_attach_controller",
                    json.readTree("{\"name\":\"Nvme0\",\"trtype\":\"PCIe\",\"traddr\":\"" + bdf + "\"}"));
            System.out.println("attach -> " + names);
            DmaBuffer mem = rt.dma().allocate(QD * 4096L, 4096);
            Loop loop = new Loop();
            Reactor r = rt.reactors().reactor(0);
            CompletableFuture<Void> started = new CompletableFuture<>();
            r.submit(() -> {
                loop.desc = rt.bdevs().open("Nvme0n1", false, (type, d) -> {
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
            }
            System.out.println("IO RUNNING ok=" + loop.ok);
            System.out.flush();
            // the host now removes the device; everything below must happen without a hang
            loop.drained.get(120, TimeUnit.SECONDS);
            System.out.println("drained: ok=" + loop.ok + " failed=" + loop.failed + " submitErrors=" + loop.submitErrors
                    + " lastErrno=" + loop.lastErrno + " removeEvent=" + loop.removeEvent);
            check(loop.failed + loop.submitErrors > 0, "I/O failed after the removal");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (rt.bdevs().lookup("Nvme0n1") != null && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            check(rt.bdevs().lookup("Nvme0n1") == null, "Nvme0n1 unregistered");
            JsonNode ctrlrs = rt.rpc().callAndWait("bdev_nvme_get_controllers", json.readTree("{}"));
            System.out.println("controllers -> " + ctrlrs);
            check(ctrlrs.toString().contains("\"state\":\"failed\""), "controller state failed");
            rt.rpc().callAndWait("bdev_malloc_create", json.readTree("{\"name\":\"Malloc9\",\"num_blocks\":2048,\"block_size\":512}"));
            JsonNode bdevs = rt.rpc().callAndWait("bdev_get_bdevs", json.readTree("{}"));
            System.out.println("bdevs -> " + bdevs);
            check(bdevs.toString().contains("Malloc9") && !bdevs.toString().contains("Nvme0n1"), "runtime still works");
            JsonNode detach = rt.rpc().callAndWait("bdev_nvme_detach_controller", json.readTree("{\"name\":\"Nvme0\"}"));
            System.out.println("detach -> " + detach);
            System.out.println("HOT REMOVE PASSED");
            System.out.flush();
        }
        System.out.println("runtime closed");
        System.exit(0);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED: " + what);
            System.out.flush();
            System.exit(1);
        }
    }
}
