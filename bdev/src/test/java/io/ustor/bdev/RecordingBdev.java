package io.ustor.bdev;

import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A RAM-backed test module that records what the layer hands it (type, range, pieces), can hold ios until the test
 * releases them (to test resets and waits), and can fail ios. Supports what the test says.
 */
final class RecordingBdev extends Bdev {
    record Submitted(IoType type, long offsetBlocks, long numBlocks, int iovCount, long bytes) {
    }

    private final MemorySegment data;
    private final Set<IoType> supported;
    private final int maxTransfer;
    private final int boundary;
    final List<Submitted> submitted = new ArrayList<>(); // reactor thread only; read after quiescing
    volatile boolean hold;
    volatile boolean fail;
    /** This many submissions answer ENOMEM (the layer must resubmit them). */
    volatile int nomemCount;
    volatile boolean destructed;
    volatile int channelsCreated, channelsDestroyed;

    RecordingBdev(String name, long numBlocks, int blockSize, Set<IoType> supported, int maxTransfer, int boundary) {
        super(name, numBlocks, blockSize, null);
        this.data = Arena.ofAuto().allocate(numBlocks * blockSize, 4096);
        this.supported = EnumSet.copyOf(supported);
        this.maxTransfer = maxTransfer;
        this.boundary = boundary;
    }

    static RecordingBdev simple(String name) {
        return new RecordingBdev(name, 1024, 512, EnumSet.of(IoType.READ, IoType.WRITE, IoType.RESET), 0, 0);
    }

    MemorySegment data() {
        return data;
    }

    @Override
    public String productName() {
        return "Recording disk";
    }

    @Override
    public String moduleName() {
        return "recording";
    }

    @Override
    public boolean supportsIoType(IoType type) {
        return supported.contains(type);
    }

    @Override
    public int maxTransferBlocks() {
        return maxTransfer;
    }

    @Override
    public int optimalIoBoundaryBlocks() {
        return boundary;
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        channelsCreated++;
        return new ArrayList<BdevIo>(); // ios held on this reactor
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        channelsDestroyed++;
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        long bytes = 0;
        for (int i = 0; i < io.iovCount(); i++) {
            bytes += io.iovLength(i);
        }
        synchronized (submitted) {
            submitted.add(new Submitted(io.type(), io.offsetBlocks(), io.numBlocks(), io.iovCount(), bytes));
        }
        if (nomemCount > 0) {
            nomemCount--;
            io.completeErrno(-Errno.ENOMEM);
            return;
        }
        if (hold) {
            heldOn(moduleChannel).add(io);
            return;
        }
        execute(io);
    }

    @SuppressWarnings("unchecked")
    private static List<BdevIo> heldOn(Object moduleChannel) {
        return (List<BdevIo>) moduleChannel;
    }

    /** Completes every io held on {@code ch}'s reactor; call there. Returns how many. */
    int releaseHeld(BdevChannel ch) {
        List<BdevIo> held = heldOn(ch.moduleChannel());
        List<BdevIo> ios = new ArrayList<>(held);
        held.clear();
        for (BdevIo io : ios) {
            execute(io);
        }
        return ios.size();
    }

    private void execute(BdevIo io) {
        if (fail) {
            io.completeErrno(-Errno.EIO);
            return;
        }
        long pos = io.offsetBlocks() * blockSize();
        switch (io.type()) {
            case READ -> io.copyIntoIovs(data, pos);
            case WRITE -> io.copyFromIovs(data, pos);
            case WRITE_ZEROES, UNMAP -> data.asSlice(pos, io.numBlocks() * blockSize()).fill((byte) 0);
            default -> {
            }
        }
        io.complete(BdevIoStatus.SUCCESS);
    }

    List<Submitted> submittedCopy() {
        synchronized (submitted) {
            return new ArrayList<>(submitted);
        }
    }

    void clearSubmitted() {
        synchronized (submitted) {
            submitted.clear();
        }
    }

    /** The device vanished. */
    CompletableFuture<Void> vanish() {
        return hotRemove();
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        destructed = true;
        return CompletableFuture.completedFuture(null);
    }
}
