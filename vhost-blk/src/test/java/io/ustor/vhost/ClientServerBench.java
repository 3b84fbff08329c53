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
import io.ustor.vhost.virtio.Virtio;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: ustor's virtio-user client (reactor 0) against ustor's vhost-user-blk server (reactor 1) on a 1 GiB
 * malloc bdev, 4 KiB random reads and writes at queue depth 32 and 128; prints IOPS and the server reactor's busy
 * time per I/O. Run with {@code -Dgroups=bench -Dtest=ClientServerBench} ({@code -Dbench.bdev=null} for a null bdev
 * behind the same name).
 */
@Tag("bench")
class ClientServerBench {
    private static final long SECONDS = Long.getLong("bench.seconds", 5);
    private static final long WARMUP_MS = Long.getLong("bench.warmupMs", 1000);
    /** -Dbench.packed=true: the server offers the packed ring (the client then uses it). */
    private static final boolean PACKED = Boolean.getBoolean("bench.packed");
    /** -Dbench.indirect=false: the client refuses indirect descriptors (chains in the ring's own table). */
    private static final long REFUSED_FEATURES = Boolean.parseBoolean(System.getProperty("bench.indirect", "true"))
            ? 0 : 1L << Virtio.F_INDIRECT_DESC;
    @TempDir
    Path dir;

    /** A closed loop of {@code depth} requests: each completion submits the next. */
    static final class Loop implements BdevIoCallback {
        final BdevDesc desc;
        final BdevChannel ch;
        final boolean write;
        final long blocks;
        final SplittableRandom rnd = new SplittableRandom(1);
        volatile boolean stop;
        long done, errors;

        Loop(BdevDesc desc, BdevChannel ch, boolean write, long blocks) {
            this.desc = desc;
            this.ch = ch;
            this.write = write;
            this.blocks = blocks;
        }

        void submit(MemorySegment buf) {
            long per = 4096 / desc.bdev().blockSize();
            long off = rnd.nextLong(blocks / per) * per;
            int rc = write ? desc.write(ch, buf, off, per, this, buf) : desc.read(ch, buf, off, per, this, buf);
            if (rc != 0) {
                errors++;
            }
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object cbArg) {
            done++;
            if (!success) {
                errors++;
            }
            if (!stop) {
                submit((MemorySegment) cbArg);
            }
        }
    }

    @Test
    void randomReadAndWrite() throws Exception {
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.BUSY_SPIN));
             Arena arena = Arena.ofShared()) {
            BdevRegistry bdevs = new BdevRegistry(group);
            // I/O buffers in DMA memory, allocated before the client attaches so it can share them with the server
            // (no bounce copy); -Dustor.vhost.client.shareDmaMemory=false measures the bounce path instead.
            MemorySegment[] pool = new MemorySegment[128];
            for (int i = 0; i < pool.length; i++) {
                pool[i] = io.ustor.env.DmaMemory.get().allocate(4096).segment();
            }
            // -Dbench.bdev=null compares like with like against a null back end (no 4 KiB copy on the server)
            bdevs.register("null".equals(System.getProperty("bench.bdev"))
                    ? io.ustor.bdev.nullbdev.NullBdev.create("Malloc0", 262144, 4096, null)
                    : MallocBdev.create("Malloc0", 262144, 4096, null));
            try (VhostBlkController ctrl = VhostBlkController.create(VhostBlkOptions.of("bench", dir, "Malloc0")
                    .withCpumask(CoreMask.parse("[1]")).withMaxQueues(1).withPackedRing(PACKED), bdevs)) {
                VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioBench", ctrl.options().socketPath(), 1, 256,
                        VirtioUserBlkBdev.DEFAULT_BOUNCE_BYTES, REFUSED_FEATURES);
                bdevs.register(v);
                BdevDesc virtioDesc = bdevs.open("VirtioBench", true, (t, x) -> { });
                BdevDesc mallocDesc = bdevs.open("Malloc0", true, (t, x) -> { });
                Reactor client = group.reactor(0), server = group.reactor(1);
                for (String target : Boolean.parseBoolean(System.getProperty("bench.direct", "true"))
                        ? new String[]{"Malloc0 direct", "virtio client -> vhost server"}
                        : new String[]{"virtio client -> vhost server"})
                for (boolean write : new boolean[]{false, true}) {
                    BdevDesc d = target.startsWith("Malloc") ? mallocDesc : virtioDesc;
                    for (int depth : new int[]{32, 128}) {
                        MemorySegment[] bufs = java.util.Arrays.copyOf(pool, depth);
                        BdevChannel ch = client.call(d::getIoChannel).get();
                        Loop loop = new Loop(d, ch, write, v.numBlocks());
                        client.call(() -> {
                            for (MemorySegment b : bufs) {
                                loop.submit(b);
                            }
                            return null;
                        }).get();
                        Thread.sleep(WARMUP_MS);
                        long d0 = client.call(() -> loop.done).get();
                        long busy0 = server.stats().busyNanos();
                        long t0 = System.nanoTime();
                        Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
                        long d1 = client.call(() -> loop.done).get();
                        long busy1 = server.stats().busyNanos();
                        long t1 = System.nanoTime();
                        loop.stop = true;
                        Thread.sleep(200);
                        client.call(() -> {
                            d.putIoChannel(ch);
                            return null;
                        }).get();
                        long ios = d1 - d0;
                        double iops = ios * 1e9 / (t1 - t0);
                        System.out.printf("vhost-blk bench: " + target + ": %s QD%d: %.0f IOPS, server busy %.2f us/IO, errors %d%n",
                                write ? "randwrite" : "randread", depth, iops, (busy1 - busy0) / 1e3 / ios, loop.errors);
                    }
                }
                virtioDesc.close();
                mallocDesc.close();
                bdevs.unregister("VirtioBench").join();
            }
            bdevs.unregisterAll().join();
        }
    }

    /** The same client against qemu-storage-daemon's vhost-user-blk export of a 1 GiB file, for comparison. */
    @Test
    void clientAgainstQemuStorageDaemon() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(Path.of("/usr/bin/qemu-storage-daemon")));
        Path image = dir.resolve("qsd.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        try (io.ustor.testbed.QemuStorageDaemon qsd = io.ustor.testbed.QemuStorageDaemon.vhostUserBlk(image, dir.resolve("qsd.sock"), 1);
             ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0]"), ReactorOptions.defaults().withIdleMode(IdleMode.BUSY_SPIN));
             Arena arena = Arena.ofShared()) {
            BdevRegistry bdevs = new BdevRegistry(group);
            VirtioUserBlkBdev v = VirtioUserBlkBdev.attach("VirtioQsd", qsd.socket(), 1, 256);
            bdevs.register(v);
            BdevDesc d = bdevs.open("VirtioQsd", true, (t, x) -> { });
            Reactor client = group.reactor(0);
            for (boolean write : new boolean[]{false, true}) {
                MemorySegment[] bufs = new MemorySegment[32];
                for (int i = 0; i < bufs.length; i++) {
                    bufs[i] = arena.allocate(4096, 4096);
                }
                BdevChannel ch = client.call(d::getIoChannel).get();
                Loop loop = new Loop(d, ch, write, v.numBlocks());
                client.call(() -> {
                    for (MemorySegment b : bufs) {
                        loop.submit(b);
                    }
                    return null;
                }).get();
                Thread.sleep(1000);
                long d0 = client.call(() -> loop.done).get();
                long t0 = System.nanoTime();
                Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
                long d1 = client.call(() -> loop.done).get();
                long t1 = System.nanoTime();
                loop.stop = true;
                Thread.sleep(300);
                client.call(() -> {
                    d.putIoChannel(ch);
                    return null;
                }).get();
                System.out.printf("vhost-blk bench: virtio client -> qemu-storage-daemon (file): %s QD32: %.0f IOPS, errors %d%n",
                        write ? "randwrite" : "randread", (d1 - d0) * 1e9 / (t1 - t0), loop.errors);
            }
            d.close();
            bdevs.unregister("VirtioQsd").join();
        }
    }
}
