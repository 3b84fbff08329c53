package io.ustor.bdev;

import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.bdev.nullbdev.NullBdev;
import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/** Rough submit+complete rates through the layer on one busy-spinning reactor (QD 128, 4 KiB). Not a test. */
@Tag("bench")
class BdevThroughputBench {
    @Test
    void rates() throws Exception {
        try (ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0]"), ReactorOptions.defaults());
             DmaMemory memory = DmaMemory.open(DmaOptions.defaults().withNoHuge(true))) {
            run(group, NullBdev.create("BNull", 1 << 18, 4096, null));
            run(group, MallocBdev.create("BMalloc", 1 << 18, 4096, null, memory));
        }
    }

    private static void run(ReactorGroup group, Bdev bdev) throws Exception {
        Reactor r = group.reactor(0);
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(bdev);
        BdevDesc desc = reg.open(bdev.name(), true, (t, d) -> {
        });
        BdevChannel ch = TestReactors.on(r, desc::getIoChannel);
        Arena arena = Arena.ofShared();
        MemorySegment[] bufs = new MemorySegment[128];
        for (int i = 0; i < bufs.length; i++) {
            bufs[i] = arena.allocate(4096, 4096);
        }
        IoDriver driver = new IoDriver(desc, ch, bufs, 1);
        TestReactors.on(r, () -> driver.start(2_000_000)).get(60, TimeUnit.SECONDS);
        long n = 10_000_000;
        long t0 = System.nanoTime();
        TestReactors.on(r, () -> driver.start(n)).get(120, TimeUnit.SECONDS);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%s: %.2f M IOPS (50%% read, 4 KiB, QD128)%n", bdev.name(), n / secs / 1e6);
        TestReactors.on(r, () -> {
            desc.putIoChannel(ch);
            return null;
        });
        desc.close();
        reg.unregister(bdev.name()).get(10, TimeUnit.SECONDS);
    }
}
