package io.ustor.iscsi;

import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.env.IoBufferPool;
import io.ustor.env.IoBufferPoolOptions;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * An iSCSI target in this JVM for tests: reactors in adaptive idle mode (kind to a shared machine), a malloc
 * LUN (and an optional second one) behind target "iqn.2016-06.io.ustor:disk1" on 127.0.0.1 and a free port.
 */
final class TestTarget implements AutoCloseable {
    static final String IQN = "iqn.2016-06.io.ustor:disk1";

    final ReactorGroup reactors;
    final BdevRegistry bdevs;
    final IscsiTarget target;
    final InetSocketAddress address;
    /** The iobuf pool task data comes from, or null (tasks use memory of their own). */
    final IoBufferPool pool;

    TestTarget(int reactorCount, long blocks, int blockSize, ChapPolicy chap, IscsiOptions options) {
        this(reactorCount, blocks, blockSize, chap, options, 0);
    }

    TestTarget(int reactorCount, long blocks, int blockSize, ChapPolicy chap, IscsiOptions options, int port) {
        this(reactorCount, blocks, blockSize, chap, options, port, false);
    }

    /** {@code pooled}: command data buffers come from a small iobuf pool (as in the daemon). */
    TestTarget(int reactorCount, long blocks, int blockSize, ChapPolicy chap, IscsiOptions options, int port,
               boolean pooled) {
        String mask = reactorCount == 1 ? "[0]" : "[0,1]";
        IdleMode idle = "busy".equals(System.getenv("USTOR_IDLE")) || Boolean.getBoolean("ustor.test.busy")
                ? IdleMode.BUSY_SPIN : IdleMode.ADAPTIVE;
        reactors = ReactorGroup.start(CoreMask.parse(mask),
                ReactorOptions.defaults().withIdleMode(idle).withPinThreads(false));
        bdevs = new BdevRegistry(reactors);
        String file = System.getProperty("ustor.test.lun0.file");
        if (file != null) {
            // A thin-provisioned (sparse) file LUN instead of RAM.
            try (var raf = new java.io.RandomAccessFile(file, "rw")) {
                raf.setLength(blocks * blockSize);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            bdevs.register(io.ustor.bdev.aio.AioBdev.create(
                    new io.ustor.bdev.aio.AioBdev.Options("Malloc0", file, blockSize).withFallocate(true)));
        } else {
            // -Dustor.test.lun0.physicalBlockSize=4096: LUN 0 reports several logical blocks per physical block.
            bdevs.register(MallocBdev.create(new MallocBdev.Options("Malloc0", blocks, blockSize, null)
                    .withPhysicalBlockSize(Integer.getInteger("ustor.test.lun0.physicalBlockSize", 0))));
        }
        bdevs.register(MallocBdev.create("Malloc1", 16384, blockSize, null));
        bdevs.register(MallocBdev.create("Malloc2", 16384, blockSize, null));
        pool = pooled ? IoBufferPool.create(IoBufferPoolOptions.defaults().withSmall(8192, 512)
                .withLarge(132 * 1024, 128).withCacheSizes(32, 8)) : null;
        target = IscsiTarget.start(reactors, bdevs, options, pool);
        target.createPortalGroup(1, List.of(new Portal("127.0.0.1", port)), false);
        target.createInitiatorGroup(1, List.of("ANY"), List.of("ANY"));
        if (chap.group() != 0) {
            target.createAuthGroup(chap.group(), List.of(
                    new ChapSecret("user", "secretsecret1", "tuser", "tsecretsecret2")));
        }
        // LUN 0: a plain disk; LUN 1: write-protected; LUN 2: removable medium.
        target.createTargetNode(IQN, "disk1", List.of(new PgIgMapping(1, 1)), List.of(new LunSpec("Malloc0", 0),
                new LunSpec("Malloc1", 1, true, false), new LunSpec("Malloc2", 2, false, true)), 64, chap, false, false);
        address = target.boundAddress(1);
    }

    static final int LUN_PLAIN = 0, LUN_READ_ONLY = 1, LUN_REMOVABLE = 2;

    TestTarget() {
        this(1, 131072, 512, ChapPolicy.none(), IscsiOptions.defaults());
    }

    String portal() {
        return "127.0.0.1:" + address.getPort();
    }

    String url(int lun) {
        return "iscsi://" + portal() + "/" + IQN + "/" + lun;
    }

    @Override
    public void close() {
        target.close();
        bdevs.unregisterAll().join();
        reactors.close();
        if (pool != null) {
            pool.close();
        }
    }

    /** Runs a target until killed: for trying clients by hand. Args: port [reactors]. */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 3260;
        int reactors = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        long mib = args.length > 2 ? Long.parseLong(args[2]) : 64;
        IscsiOptions o = IscsiOptions.defaults();
        TestTarget t = new TestTarget(reactors, mib * 2048, 512, ChapPolicy.none(), o, port);
        System.out.println("listening on " + t.address);
        Thread.sleep(Long.MAX_VALUE);
    }
}
