package io.ustor.bdev;

import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.bdev.nullbdev.NullBdev;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 1M submit+complete on one reactor allocate (next to) nothing on the reactor thread after warm-up. */
class ZeroAllocationTest {
    static final long SLACK = 64 * 1024;
    static ReactorGroup group;
    static Reactor r;
    static DmaMemory memory;

    @BeforeAll
    static void start() {
        group = TestReactors.one();
        r = group.reactor(0);
        memory = DmaMemory.open(DmaOptions.defaults().withNoHuge(true));
    }

    @AfterAll
    static void stop() {
        group.close();
        memory.close();
    }

    @Test
    void nullBdev() throws Exception {
        measure(NullBdev.create("ZNull", 1 << 21, 512, null), 8);
    }

    @Test
    void mallocBdev() throws Exception {
        measure(MallocBdev.create("ZMalloc", 16384, 4096, null, memory), 1);
    }

    @Test
    void splitRequests() throws Exception {
        // every 8-block request becomes 4 children of 2 blocks
        measure(MallocBdev.create(new MallocBdev.Options("ZSplit", 16384, 512, null).withMaxTransferBlocks(2)
                .withMemory(memory)), 8);
    }

    private static void measure(Bdev bdev, long ioBlocks) throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(bdev);
        BdevDesc desc = reg.open(bdev.name(), true, (t, d) -> {
        });
        BdevChannel ch = TestReactors.on(r, desc::getIoChannel);
        MemorySegment[] bufs = new MemorySegment[32];
        Arena arena = Arena.ofShared();
        for (int i = 0; i < bufs.length; i++) {
            bufs[i] = arena.allocate(ioBlocks * bdev.blockSize(), 4096);
        }
        IoDriver driver = new IoDriver(desc, ch, bufs, ioBlocks);
        for (int round = 0; round < 3; round++) { // warm-up: let the JIT compile the path
            assertEquals(0L, TestReactors.on(r, () -> driver.start(300_000)).get(60, TimeUnit.SECONDS));
        }
        long tid = r.threadId();
        long before = mx.getThreadAllocatedBytes(tid);
        assertEquals(0L, TestReactors.on(r, () -> driver.start(1_000_000)).get(120, TimeUnit.SECONDS));
        long after = mx.getThreadAllocatedBytes(tid);
        long allocated = after - before;
        System.out.println(bdev.name() + ": reactor thread allocated " + allocated + " bytes over 1M I/Os");
        assertTrue(allocated < SLACK, bdev.name() + ": reactor thread allocated " + allocated + " bytes over 1M I/Os");
        assertTrue(bdev.stats().ops(IoType.READ) >= 950_000);
        TestReactors.on(r, () -> {
            desc.putIoChannel(ch);
            return null;
        });
        desc.close();
        reg.unregister(bdev.name()).get(10, TimeUnit.SECONDS);
        arena.close();
    }
}
