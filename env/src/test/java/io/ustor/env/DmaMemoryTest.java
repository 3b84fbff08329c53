package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class DmaMemoryTest {
    private static final long MIB = 1 << 20;

    @Test
    void noHugeModeAllocatesAlignedBuffersWithIovaEqualToVirtualAddress() {
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withGrowthChunk(4 * MIB))) {
            assertFalse(mem.hugepages());
            assertFalse(mem.dmaCapable());
            assertTrue(mem.notDmaCapableReason().contains("--no-huge"), mem.notDmaCapableReason());
            long[] alignments = {64, 512, 4096, 65536, 2 * MIB};
            List<DmaBuffer> buffers = new ArrayList<>();
            for (long alignment : alignments) {
                DmaBuffer b = mem.allocate(1000, alignment);
                buffers.add(b);
                assertEquals(0, b.address() % alignment, "alignment " + alignment);
                assertEquals(1000, b.segment().byteSize());
                assertEquals(b.address(), b.iova());
                assertEquals(b.address() + 999, b.iova(999));
                assertEquals(b.iova() + 123, mem.iova(b.address() + 123), "lookup from any address inside");
                assertEquals(b.iova(), mem.iova(b.segment()));
                assertFalse(b.dmaCapable());
                assertThrows(IndexOutOfBoundsException.class, () -> b.iova(1000));
            }
            assertEquals(-1, mem.iova(0x1000), "an address outside the memory has no IOVA");
            assertNull(mem.regionOf(0x1000));
            // Buffers do not overlap: each keeps the pattern written into it.
            for (int i = 0; i < buffers.size(); i++) {
                buffers.get(i).segment().fill((byte) i);
            }
            for (int i = 0; i < buffers.size(); i++) {
                MemorySegment s = buffers.get(i).segment();
                for (long off = 0; off < s.byteSize(); off++) {
                    assertEquals((byte) i, s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off));
                }
            }
            assertEquals(5, mem.allocations());
            assertEquals(5 * 1024, mem.usedBytes());
            assertTrue(mem.reservedBytes() >= 4 * MIB);
            for (DmaBuffer b : buffers) {
                b.free();
            }
            assertEquals(0, mem.allocations());
            assertEquals(0, mem.usedBytes());
            assertEquals(5 * 1024, mem.peakUsedBytes());
            assertThrows(IllegalStateException.class, buffers.getFirst()::free, "double free");
        }
    }

    @Test
    void requireDmaCapableNamesTheCallerAndTheFix() {
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withGrowthChunk(2 * MIB))) {
            DmaBuffer b = mem.allocate(4096);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.requireDmaCapable("nvme 0000:00:04.0"));
            assertTrue(e.getMessage().startsWith("nvme 0000:00:04.0 needs DMA-capable memory"), e.getMessage());
            assertTrue(e.getMessage().contains("nr_hugepages"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> mem.requireDmaCapable("nvme"));
        }
    }

    @Test
    void growsOnDemandAndListsRegionsToListeners() {
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withGrowthChunk(2 * MIB))) {
            List<DmaRegion> added = new ArrayList<>();
            List<DmaRegion> removed = new ArrayList<>();
            DmaBuffer first = mem.allocate(MIB);
            mem.addRegionListener(new DmaRegionListener() {
                @Override
                public void regionAdded(DmaRegion region) {
                    added.add(region);
                }

                @Override
                public void regionRemoved(DmaRegion region) {
                    removed.add(region);
                }
            });
            assertEquals(1, added.size(), "existing region replayed");
            DmaBuffer big = mem.allocate(3 * MIB);
            assertEquals(2, mem.regions().size());
            assertEquals(2, added.size());
            DmaRegion r = mem.regions().get(1);
            assertSame(r, big.region());
            assertTrue(r.contains(big.address()));
            assertEquals(r.vaddr(), r.iova());
            assertEquals(Mman.PAGE_SIZE, r.pageSize());
            assertFalse(r.hugepage());
            assertTrue(r.size() >= 3 * MIB && r.size() % (2 * MIB) == 0);
            assertTrue(r.iovaContiguous());
            assertSame(first.region(), mem.regionOf(first.address()));
            mem.close();
            assertEquals(2, removed.size());
            assertThrows(IllegalStateException.class, () -> first.segment().get(JAVA_LONG, 0), "unmapped on close");
            assertThrows(IllegalStateException.class, () -> mem.allocate(64));
        }
    }

    @Test
    void reservedMemoryIsAllThereIsAndExhaustionSaysSo() {
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withNoHuge(true).withMemorySizeMb(2))) {
            assertEquals(2 * MIB, mem.reservedBytes());
            DmaBuffer a = mem.allocate(MIB, 4096);
            DmaBuffer b = mem.allocate(MIB, 4096);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> mem.allocate(4096));
            assertTrue(e.getMessage().startsWith("DMA memory exhausted"), e.getMessage());
            assertEquals(1, mem.allocationFailures());
            a.free();
            DmaBuffer c = mem.allocate(4096);
            assertEquals(a.address(), c.address(), "freed space is reused");
            b.free();
            c.free();
            assertEquals(1, mem.regions().size());
        }
    }

    @Test
    void hugePagesWhenTheKernelHasThem() {
        assumeTrue(HugePages.status2M().available() >= 2,
                "no free 2 MiB huge pages (" + HugePages.status2M() + "); echo 64 > /proc/sys/vm/nr_hugepages to run this");
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withGrowthChunk(2 * MIB))) {
            assertTrue(mem.hugepages());
            assertTrue(mem.dmaCapable());
            DmaBuffer b = mem.allocate(8192, 4096);
            assertTrue(b.dmaCapable());
            b.requireDmaCapable("test");
            DmaRegion r = b.region();
            assertTrue(r.hugepage());
            assertEquals(2 * MIB, r.pageSize());
            assertEquals(0, r.vaddr() % (2 * MIB), "huge page mappings start on a huge page");
            assertEquals(b.address() + 100, b.iova(100));
            b.segment().fill((byte) 0x5a);
            assertEquals((byte) 0x5a, b.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 8191));
            b.free();
        }
    }

    @Test
    void hugetlbfsPageFilesWhenOneIsMounted() {
        assumeTrue(!HugePages.hugetlbfsMounts2M().isEmpty(), "no hugetlbfs mounted");
        assumeTrue(HugePages.status2M().available() >= 1, "no free 2 MiB huge pages (" + HugePages.status2M() + ")");
        java.nio.file.Path dir = HugePages.hugetlbfsMounts2M().getFirst();
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withHugeDir(dir).withMemorySizeMb(2))) {
            assertEquals(dir, mem.hugetlbfsDir());
            DmaRegion r = mem.regions().getFirst();
            assertTrue(r.backing().startsWith("hugetlbfs " + dir), r.backing());
            assertTrue(r.fd() >= 0);
            DmaBuffer b = mem.allocate(4096);
            b.segment().set(JAVA_LONG, 0, 77);
            // The page file is shared memory: the descriptor reads what the mapping holds.
            MemorySegment in = java.lang.foreign.Arena.ofAuto().allocate(8);
            Posix.pread(r.fd(), in, 8, b.address() - r.vaddr());
            assertEquals(77, in.get(JAVA_LONG, 0));
        }
    }

    @Test
    void hugeDirThatIsNotHugetlbfsIsRefusedWithTheMountCommand() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DmaMemory.open(DmaOptions.defaults().withHugeDir(java.nio.file.Path.of("/tmp"))));
        assertTrue(e.getMessage().contains("mount -t hugetlbfs"), e.getMessage());
    }

    @Test
    void physicalAddressesFromPagemapWhenRoot() {
        assumeTrue(pagemapShowsFrames(), "/proc/self/pagemap hides page frames (needs root / CAP_SYS_ADMIN)");
        try (DmaMemory mem = DmaMemory.open(DmaOptions.defaults().withIovaMode(IovaMode.PA).withGrowthChunk(2 * MIB))) {
            DmaBuffer b = mem.allocate(8192, 4096);
            long pa = Pagemap.physicalAddress(b.address());
            assertEquals(pa, b.iova());
            assertEquals(Pagemap.physicalAddress(b.address() + 4096) + 17, b.iova(4096 + 17));
            assertEquals(b.iova(), mem.iova(b.address()));
            if (!b.region().hugepage()) {
                assertEquals(Mman.PAGE_SIZE, b.region().pageSize());
            }
        }
    }

    @Test
    void pagemapFailsClearlyOrGivesAFrame() {
        MemorySegment m = Mman.mmapAnonymous(Mman.PAGE_SIZE, Mman.MAP_POPULATE);
        try {
            try {
                long pa = Pagemap.physicalAddress(m.address() + 12);
                assertEquals(12, pa % Mman.PAGE_SIZE);
                assertTrue(pa > 0);
            } catch (IllegalStateException e) {
                assertTrue(e.getMessage().contains("need root"), e.getMessage());
            }
        } finally {
            Mman.munmap(m);
        }
    }

    private static boolean pagemapShowsFrames() {
        MemorySegment m = Mman.mmapAnonymous(Mman.PAGE_SIZE, Mman.MAP_POPULATE);
        try {
            Pagemap.physicalAddress(m.address());
            return true;
        } catch (IllegalStateException e) {
            return false;
        } finally {
            Mman.munmap(m);
        }
    }
}
