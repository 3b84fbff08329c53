package io.ustor.bdev;

import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.bdev.split.SplitBase;
import io.ustor.bdev.split.SplitBdev;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The split bdev over a malloc bdev: each part's blocks land at its offset in the base, sizes, claims, removal. */
class SplitBdevTest {
    static ReactorGroup group;
    static final Arena ARENA = Arena.ofShared();

    @BeforeAll
    static void start() {
        group = TestReactors.one();
    }

    @AfterAll
    static void stop() {
        group.close();
    }

    @Test
    void partsMapToConsecutiveRangesOfTheBase() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(MallocBdev.create("Base0", 8192, 512, null)); // 4 MiB
        SplitBase split = SplitBase.create(reg, "Base0", 4, 0);
        assertEquals(4, split.parts().size());
        assertEquals("split", reg.lookup("Base0").claimedBy());
        assertEquals(2048, reg.lookup("Base0p3").numBlocks());
        assertEquals(6144, ((SplitBdev) reg.lookup("Base0p3")).offsetBlocks());
        assertEquals("Split Disk", reg.lookup("Base0p1").productName());

        Reactor r = group.reactor(0);
        BdevDesc part = reg.open("Base0p2", true, (t, x) -> { });
        BdevDesc base = reg.open("Base0", false, (t, x) -> { });
        BdevChannel pch = TestReactors.on(r, part::getIoChannel), bch = TestReactors.on(r, base::getIoChannel);
        MemorySegment data = ARENA.allocate(1024, 512);
        for (int i = 0; i < 1024; i++) {
            data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
        }
        Completion w = new Completion();
        assertEquals(0, TestReactors.on(r, () -> part.write(pch, data, 2046, 2, w, null))); // its last two blocks
        assertTrue(w.await().success());
        MemorySegment back = ARENA.allocate(1024, 512);
        Completion rd = new Completion();
        assertEquals(0, TestReactors.on(r, () -> base.read(bch, back, 2 * 2048 + 2046, 2, rd, null)));
        assertTrue(rd.await().success());
        assertEquals(-1, data.mismatch(back), "part 2's block 2046 is the base's block 6142");
        // past the part's end is refused, though the base has blocks there
        assertEquals(-Errno.EINVAL, (int) TestReactors.on(r, () -> part.write(pch, data, 2047, 2, new Completion(),
                null)));
        TestReactors.on(r, () -> {
            part.putIoChannel(pch);
            base.putIoChannel(bch);
            return null;
        });
        part.close();
        base.close();

        split.delete().get(20, TimeUnit.SECONDS);
        assertNull(reg.lookup("Base0p0"));
        TestReactors.await("the base released after the last part", () -> !reg.lookup("Base0").claimed());
    }

    @Test
    void sizesCountsClaimsAndBaseRemoval() throws Exception {
        BdevRegistry reg = new BdevRegistry(group);
        reg.register(MallocBdev.create("Base1", 8192, 512, null)); // 4 MiB
        assertEquals(Errno.ENODEV, assertThrows(BdevException.class, () -> SplitBase.create(reg, "Nope", 2, 0))
                .errno());
        assertEquals(Errno.EINVAL, assertThrows(BdevException.class, () -> SplitBase.create(reg, "Base1", 2, 5))
                .errno(), "5 MiB parts do not fit 4 MiB");
        SplitBase split = SplitBase.create(reg, "Base1", 8, 1); // 1 MiB parts: 4 fit, as SPDK clamps
        assertEquals(4, split.parts().size());
        assertEquals(2048, reg.lookup("Base1p0").numBlocks());
        assertEquals(Errno.EPERM, assertThrows(BdevException.class, () -> SplitBase.create(reg, "Base1", 2, 0))
                .errno(), "claimed by the first split");

        reg.unregister("Base1").get(20, TimeUnit.SECONDS);
        TestReactors.await("the parts to follow their base", () -> reg.lookup("Base1p0") == null
                && reg.lookup("Base1p3") == null);
    }
}
