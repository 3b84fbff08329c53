package io.ustor.nvme;

import io.ustor.env.Errno;
import io.ustor.nvme.internal.PrpBuilder;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** PRP layouts for various buffers, with a fake IOVA map (IOVA = VA + 0x1_0000_0000, nothing below 0x10000 mapped). */
class PrpBuilderTest {
    private static final long BASE = 0x7f00_0000_0000L;
    private static final long SHIFT = 0x1_0000_0000L;
    private final MemorySegment list = Arena.ofAuto().allocate(4096, 4096);
    private final PrpBuilder b = new PrpBuilder(va -> va < 0x10000 ? -1 : va + SHIFT);

    private void reset() {
        b.reset(list, 0, 0xabc000);
    }

    @Test
    void onePageUsesPrp1Only() {
        reset();
        assertEquals(0, b.add(BASE, 4096));
        assertEquals(BASE + SHIFT, b.prp1());
        assertEquals(0, b.prp2());
    }

    @Test
    void smallBlockInsideAPage() {
        reset();
        assertEquals(0, b.add(BASE + 512, 512));
        assertEquals(BASE + 512 + SHIFT, b.prp1());
        assertEquals(0, b.prp2());
    }

    @Test
    void twoPagesUsePrp2Directly() {
        reset();
        assertEquals(0, b.add(BASE, 8192));
        assertEquals(BASE + SHIFT, b.prp1());
        assertEquals(BASE + 4096 + SHIFT, b.prp2());
    }

    @Test
    void offsetStartSpillsIntoNextPage() {
        reset();
        assertEquals(0, b.add(BASE + 1024, 4096));
        assertEquals(BASE + 1024 + SHIFT, b.prp1());
        assertEquals(BASE + 4096 + SHIFT, b.prp2());
    }

    @Test
    void largerTransfersUseAList() {
        reset();
        assertEquals(0, b.add(BASE + 2048, 3 * 4096));
        assertEquals(BASE + 2048 + SHIFT, b.prp1());
        assertEquals(0xabc000, b.prp2());
        assertEquals(3, b.listEntries());
        for (int i = 0; i < 3; i++) {
            assertEquals(BASE + 4096L * (i + 1) + SHIFT, list.get(JAVA_LONG, 8L * i));
        }
    }

    @Test
    void scatterListOfPageAlignedPieces() {
        reset();
        assertEquals(0, b.add(BASE + 4096 - 1024, 1024)); // ends on a page boundary
        assertEquals(0, b.add(BASE + 0x10000, 8192));
        assertEquals(0, b.add(BASE + 0x40000, 100));      // last piece may end anywhere
        assertEquals(BASE + 3072 + SHIFT, b.prp1());
        assertEquals(0xabc000, b.prp2());
        assertEquals(3, b.listEntries());
        assertEquals(BASE + 0x10000 + SHIFT, list.get(JAVA_LONG, 0));
        assertEquals(BASE + 0x11000 + SHIFT, list.get(JAVA_LONG, 8));
        assertEquals(BASE + 0x40000 + SHIFT, list.get(JAVA_LONG, 16));
        assertEquals(1024 + 8192 + 100, b.bytes());
    }

    @Test
    void layoutsPrpsCannotDescribeAreRefused() {
        reset();
        assertEquals(0, b.add(BASE, 1024));
        assertEquals(-Errno.EINVAL, b.add(BASE + 4096, 4096), "a piece after one that ends mid-page");
        reset();
        assertEquals(0, b.add(BASE, 4096));
        assertEquals(-Errno.EINVAL, b.add(BASE + 8192 + 512, 512), "a later piece must start on a page");
        reset();
        assertEquals(-Errno.EINVAL, b.add(BASE + 2, 512), "PRP1 must be dword aligned");
        reset();
        assertEquals(-Errno.EFAULT, b.add(0x1000, 512), "memory the device cannot reach");
        reset();
        assertEquals(-Errno.EINVAL, b.add(BASE, 0));
    }

    @Test
    void transferLimitIsOneListPagePlusPrp1() {
        reset();
        assertEquals(0, b.add(BASE, PrpBuilder.MAX_TRANSFER_BYTES + 4096L));
        assertEquals(PrpBuilder.MAX_LIST_ENTRIES, b.listEntries());
        reset();
        assertEquals(-Errno.E2BIG, b.add(BASE, PrpBuilder.MAX_TRANSFER_BYTES + 8192L));
    }
}
