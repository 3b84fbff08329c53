package io.ustor.nvme;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaBuffer;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.IovaMode;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;

import java.lang.foreign.MemorySegment;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ustor.nvme.GuestProgram.check;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs in the guest: finds the nvme subsystem with ServiceLoader, attaches the controller by RPC
 * (bdev_nvme_attach_controller), writes and reads through the bdev layer on two reactors, resets the bdev, checks
 * bdev_nvme_get_controllers and the saved config, then detaches. {@code GuestBdevCheck BDF va|pa}.
 */
public final class GuestBdevCheck {
    public static void main(String[] args) throws Exception {
        String bdf = args[0];
        IovaMode mode = args.length > 1 && args[1].equals("pa") ? IovaMode.PA : IovaMode.VA;
        DmaMemory dma = DmaMemory.open(DmaOptions.defaults().withIovaMode(mode));
        ObjectMapper json = new ObjectMapper();
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("0x3"))) {
            BdevRegistry bdevs = new BdevRegistry(group);
            SubsystemContext ctx = new SubsystemContext();
            ctx.put(BdevRegistry.class, bdevs);
            ctx.put(DmaMemory.class, dma);
            ctx.put(ReactorGroup.class, group);
            RpcRegistry rpc = new RpcRegistry();
            Subsystem nvme = ServiceLoader.load(Subsystem.class).stream().map(ServiceLoader.Provider::get)
                    .filter(s -> s.name().equals("bdev_nvme")).findFirst().orElseThrow();
            nvme.registerMethods(rpc, ctx);
            rpc.enterRuntime();
            JsonNode names = rpc.callAndWait("bdev_nvme_attach_controller",
                    json.readTree("{\"name\":\"Nvme0\",\"trtype\":\"PCIe\",\"traddr\":\"" + bdf + "\"}"));
            System.out.println("attach -> " + names);
            check(names.get(0).asText().equals("Nvme0n1"), "bdev name");
            System.out.println("controllers -> " + rpc.callAndWait("bdev_nvme_get_controllers", json.readTree("{}")));
            System.out.println("config -> " + nvme.saveConfig());
            check(nvme.saveConfig().getFirst().get("params").get("traddr").asText().equals(bdf), "saved config");

            DmaBuffer buf = dma.allocate(1 << 20, 4096);
            for (int r = 0; r < 2; r++) {
                Reactor reactor = group.reactor(r);
                long lba = r * 4096L;
                CompletableFuture<String> f = new CompletableFuture<>();
                reactor.submit(() -> ioSequence(bdevs, buf.segment().asSlice(r2off(lba), 65536 * 2), lba, f));
                String result = f.get(60, TimeUnit.SECONDS);
                System.out.println("reactor " + r + ": " + result);
                check(result.equals("ok"), "bdev I/O on reactor " + r + ": " + result);
            }
            JsonNode reset = rpc.callAndWait("bdev_nvme_reset_controller", json.readTree("{\"name\":\"Nvme0\"}"));
            System.out.println("reset -> " + reset);
            CompletableFuture<String> after = new CompletableFuture<>();
            group.reactor(1).submit(() -> ioSequence(bdevs, buf.segment().asSlice(0, 65536 * 2), 9000, after));
            check(after.get(60, TimeUnit.SECONDS).equals("ok"), "I/O after reset");
            rpc.callAndWait("bdev_nvme_detach_controller", json.readTree("{\"name\":\"Nvme0\"}"));
            check(bdevs.lookup("Nvme0n1") == null, "bdev gone after detach");
            System.out.println("BDEV CHECKS PASSED");
            buf.free();
        }
        System.exit(0);
    }

    private static long r2off(long lba) {
        return lba == 0 ? 0 : 262144;
    }

    /** On a reactor: write 64 KiB, read it back, compare, write zeroes, unmap, flush; completes {@code f}. */
    private static void ioSequence(BdevRegistry bdevs, MemorySegment mem, long lba, CompletableFuture<String> f) {
        BdevDesc d = bdevs.open("Nvme0n1", true, (t, desc) -> {
        });
        BdevChannel ch = d.getIoChannel();
        int bs = d.bdev().blockSize();
        MemorySegment w = mem.asSlice(0, 65536), r = mem.asSlice(65536, 65536);
        for (long i = 0; i < 65536; i += 8) {
            w.set(JAVA_LONG, i, lba * 1_000_003L + i);
        }
        long nb = 65536 / bs;
        Runnable fail = () -> {
        };
        int rc = d.write(ch, w, lba, nb, (io, ok, a) -> {
            if (!ok) {
                finish(d, ch, f, "write failed " + io);
                return;
            }
            d.read(ch, r, lba, nb, (io2, ok2, a2) -> {
                if (!ok2 || w.mismatch(r) != -1) {
                    finish(d, ch, f, "read back differs or failed " + io2);
                    return;
                }
                d.writeZeroes(ch, lba, nb, (io3, ok3, a3) -> {
                    if (!ok3) {
                        finish(d, ch, f, "write zeroes failed " + io3);
                        return;
                    }
                    d.unmap(ch, lba, nb, (io4, ok4, a4) -> {
                        if (!ok4) {
                            finish(d, ch, f, "unmap failed " + io4);
                            return;
                        }
                        d.flush(ch, 0, d.bdev().numBlocks(), (io5, ok5, a5) -> finish(d, ch, f, ok5 ? "ok" : "flush failed " + io5), null);
                    }, null);
                }, null);
            }, null);
        }, null);
        if (rc < 0) {
            finish(d, ch, f, "write not submitted: " + rc);
        }
        fail.run();
    }

    private static void finish(BdevDesc d, BdevChannel ch, CompletableFuture<String> f, String result) {
        // release the channel from outside the callback (the io is still being finished)
        Reactor.current().submit(() -> {
            d.putIoChannel(ch);
            d.close();
            f.complete(result);
        });
    }
}
