package io.ustor.vhost;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;
import io.ustor.vhost.client.VirtqueueDriver;
import io.ustor.vhost.client.VhostUserClient;
import io.ustor.vhost.virtio.BlkConfig;
import io.ustor.vhost.virtio.Virtio;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A bdev backed by a virtio-blk device behind a vhost-user socket (SPDK's {@code bdev_virtio_attach_controller -t
 * user -d blk}): every reactor that opens a channel gets a queue of its own, polled on that reactor. Data goes
 * through bounce buffers in the shared memory, so any caller buffer works.
 */
public final class VirtioUserBlkBdev extends Bdev {
    public static final int DEFAULT_QUEUE_SIZE = 256;
    public static final int DEFAULT_BOUNCE_BYTES = 128 * 1024;

    private final VhostUserClient client;
    private final boolean[] queueTaken;
    private final long features;

    private VirtioUserBlkBdev(String name, VhostUserClient client, long numBlocks, int blockSize) {
        super(name, numBlocks, blockSize, null);
        this.client = client;
        this.queueTaken = new boolean[client.queueCount()];
        this.features = client.features();
    }

    /**
     * Connects to {@code socket} and makes a bdev of the disk there (register it with the registry).
     *
     * @param numQueues queues wanted (SPDK's vq_count); channels beyond the queues granted fail
     * @param queueSize entries per queue (SPDK's vq_size)
     */
    public static VirtioUserBlkBdev attach(String name, Path socket, int numQueues, int queueSize) throws IOException {
        return attach(name, socket, numQueues, queueSize, DEFAULT_BOUNCE_BYTES, 0);
    }

    /** As {@link #attach(String, Path, int, int)}, with the bounce buffer size and device features to refuse. */
    public static VirtioUserBlkBdev attach(String name, Path socket, int numQueues, int queueSize, int bounceBytes,
                                           long refusedFeatures) throws IOException {
        VhostUserClient c = VhostUserClient.connect(socket, numQueues, queueSize, bounceBytes, refusedFeatures);
        try {
            BlkConfig cfg = c.config();
            int bs = Virtio.has(c.features(), Virtio.BLK_F_BLK_SIZE) && cfg.blkSize() > 0 ? cfg.blkSize() : Virtio.SECTOR_SIZE;
            long blocks = cfg.capacitySectors() * Virtio.SECTOR_SIZE / bs;
            if (blocks <= 0) {
                throw new IOException(socket + ": the device has no capacity");
            }
            return new VirtioUserBlkBdev(name, c, blocks, bs);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The vhost-user connection (its queues, config and shared memory). */
    public VhostUserClient client() {
        return client;
    }

    public boolean readOnly() {
        return Virtio.has(features, Virtio.BLK_F_RO);
    }

    @Override
    public String productName() {
        return "VirtioBlk Disk";
    }

    @Override
    public String moduleName() {
        return "virtio_blk";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return switch (type) {
            case READ -> true;
            case WRITE -> !readOnly();
            case FLUSH -> !readOnly() && Virtio.has(features, Virtio.BLK_F_FLUSH);
            case UNMAP -> !readOnly() && Virtio.has(features, Virtio.BLK_F_DISCARD);
            case WRITE_ZEROES -> !readOnly() && Virtio.has(features, Virtio.BLK_F_WRITE_ZEROES);
            default -> false;
        };
    }

    @Override
    public int maxTransferBlocks() {
        return client.ring(0).bounceBytes() / blockSize();
    }

    @Override
    public Map<String, Object> driverSpecific() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("socket", client.path().toString());
        v.put("num_queues", client.queueCount());
        v.put("queue_size", client.ring(0).size());
        v.put("packed_ring", client.packed());
        v.put("features", "0x" + Long.toHexString(features));
        m.put("virtio", v);
        return m;
    }

    /** A queue and its poller, one per reactor. */
    private static final class Channel implements Poller {
        final VirtqueueDriver queue;
        final int blockSize;
        PollerHandle poller;

        Channel(VirtqueueDriver queue, int blockSize) {
            this.queue = queue;
            this.blockSize = blockSize;
        }

        @Override
        public int poll() {
            return queue.poll(blockSize);
        }
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        int q = -1;
        synchronized (queueTaken) {
            for (int i = 0; i < queueTaken.length; i++) {
                if (!queueTaken[i]) {
                    queueTaken[i] = true;
                    q = i;
                    break;
                }
            }
        }
        if (q < 0) {
            throw new IllegalStateException("bdev " + name() + ": all " + queueTaken.length
                    + " virtqueues are in use; attach with more queues");
        }
        Channel ch = new Channel(client.ring(q), blockSize());
        ch.poller = reactor.addPoller("virtio_blk " + name() + " queue " + q, ch);
        return ch;
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        Channel ch = (Channel) moduleChannel;
        ch.poller.unregister();
        synchronized (queueTaken) {
            queueTaken[ch.queue.index()] = false;
        }
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        int rc = ((Channel) moduleChannel).queue.submit(io, blockSize());
        if (rc != 0) {
            io.completeErrno(rc);
        }
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        // The layer may call this on a reactor; closing waits for the back end (which may need this reactor).
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofPlatform().name("virtio_blk-detach-" + name()).daemon().start(() -> {
            try {
                client.close();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** Disconnects without registering (a bdev never registered). */
    public void detachUnregistered() {
        client.close();
    }
}
