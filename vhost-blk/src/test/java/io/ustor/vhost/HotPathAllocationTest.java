package io.ustor.vhost;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * After warm-up, requests through the virtio client (reactor 0) and the vhost server (reactor 1) allocate next to
 * nothing on either reactor thread: preallocated tasks and slots, cached guest-memory slices, no boxing.
 */
class HotPathAllocationTest {
    private static final long SLACK = 64 * 1024;
    @TempDir
    Path dir;

    /** A closed loop of requests that stops after {@code target} completions. */
    static final class Loop implements BdevIoCallback {
        final BdevDesc desc;
        BdevChannel ch;
        long target, done;
        int errors;
        long next;
        CompletableFuture<Integer> finished;

        Loop(BdevDesc desc) {
            this.desc = desc;
        }

        void start(MemorySegment[] bufs, long count) {
            target = count;
            done = 0;
            finished = new CompletableFuture<>();
            for (MemorySegment b : bufs) {
                submit(b);
            }
        }

        void submit(MemorySegment buf) {
            long off = (next++ * 8) % 16384;
            int rc = (next & 1) == 0 ? desc.write(ch, buf, off, 8, this, buf) : desc.read(ch, buf, off, 8, this, buf);
            if (rc != 0) {
                errors++;
            }
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object cbArg) {
            if (!success) {
                errors++;
            }
            if (++done + 32 <= target) {
                submit((MemorySegment) cbArg);
            }
            if (done == target) {
                finished.complete(errors);
            }
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void clientAndServerReactorsAllocateNothingPerRequest(boolean packed) throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
             Arena arena = Arena.ofShared()) {
            BdevRegistry bdevs = new BdevRegistry(group);
            bdevs.register(MallocBdev.create("Malloc0", 16384, 512, null));
            try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("alloc", dir, "Malloc0").withPackedRing(packed)
                    .withCpumask(CoreMask.parse("[1]")).withMaxQueues(1), bdevs)) {
                VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioAlloc", ctrl.options().socketPath(), 1, 64);
                assertEquals(packed, v.client().packed());
                bdevs.register(v);
                BdevDesc d = bdevs.open("VirtioAlloc", true, (t, x) -> { });
                Reactor client = group.reactor(0), server = group.reactor(1);
                MemorySegment[] bufs = new MemorySegment[32];
                for (int i = 0; i < bufs.length; i++) {
                    bufs[i] = arena.allocate(4096, 4096);
                }
                Loop loop = new Loop(d);
                client.call(() -> {
                    loop.ch = d.getIoChannel();
                    return null;
                }).get();
                client.call(() -> {
                    loop.start(bufs, 50_000);
                    return null;
                }).get();
                assertEquals(0, loop.finished.get(120, TimeUnit.SECONDS), "warm-up errors");
                long c0 = mx.getThreadAllocatedBytes(client.threadId()), s0 = mx.getThreadAllocatedBytes(server.threadId());
                client.call(() -> {
                    loop.start(bufs, 200_000);
                    return null;
                }).get();
                assertEquals(0, loop.finished.get(300, TimeUnit.SECONDS), "errors");
                long c1 = mx.getThreadAllocatedBytes(client.threadId()), s1 = mx.getThreadAllocatedBytes(server.threadId());
                client.call(() -> {
                    d.putIoChannel(loop.ch);
                    return null;
                }).get();
                d.close();
                bdevs.unregister("VirtioAlloc").join();
                System.out.println("vhost hot path (" + (packed ? "packed" : "split") + " ring): server reactor allocated " + (s1 - s0) + " B, client reactor " + (c1 - c0) + " B over 200k requests");
                assertTrue(s1 - s0 < SLACK, "server reactor allocated " + (s1 - s0) + " bytes over 200k requests");
                assertTrue(c1 - c0 < SLACK, "client reactor allocated " + (c1 - c0) + " bytes over 200k requests");
            }
            bdevs.unregisterAll().join();
        }
    }
}
