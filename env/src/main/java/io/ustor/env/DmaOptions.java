package io.ustor.env;

import java.nio.file.Path;

/**
 * How {@link DmaMemory} gets its memory; the analogue of SPDK's {@code -s}, {@code --huge-dir}, {@code --no-huge}
 * and {@code --iova-mode}.
 *
 * @param memorySize  bytes to reserve up front (SPDK {@code -s}); 0 grows on demand in chunks of {@code growthChunk}
 * @param hugeDir     a hugetlbfs mount to create page files in; null picks one from /proc/mounts, and
 *                    with none mounted uses anonymous MAP_HUGETLB mappings
 * @param noHuge      use ordinary locked memory (not DMA-capable) even when huge pages are available
 * @param iovaMode    {@link IovaMode#VA} (VFIO) or {@link IovaMode#PA} (UIO, root only)
 * @param filePrefix  prefix of page file names in {@code hugeDir}
 * @param growthChunk bytes added per on-demand growth (rounded up to 2 MiB; larger requests get what they need)
 */
public record DmaOptions(long memorySize, Path hugeDir, boolean noHuge, IovaMode iovaMode, String filePrefix,
                         long growthChunk) {
    /** Default growth step of on-demand memory. */
    public static final long DEFAULT_GROWTH_CHUNK = 32L << 20;

    public DmaOptions {
        if (memorySize < 0 || growthChunk <= 0) {
            throw new IllegalArgumentException("memorySize " + memorySize + ", growthChunk " + growthChunk);
        }
        if (iovaMode == null) {
            throw new IllegalArgumentException("iovaMode is required");
        }
        if (filePrefix == null || filePrefix.isEmpty() || filePrefix.contains("/")) {
            throw new IllegalArgumentException("bad file prefix: " + filePrefix);
        }
    }

    /** On demand, huge pages when there are any, IOVA = VA. */
    public static DmaOptions defaults() {
        return new DmaOptions(0, null, false, IovaMode.VA, "ustor", DEFAULT_GROWTH_CHUNK);
    }

    /**
     * Defaults overridden by system properties: {@code ustor.dma.memSizeMb}, {@code ustor.dma.hugeDir},
     * {@code ustor.dma.noHuge}, {@code ustor.dma.iovaMode} (va|pa), {@code ustor.dma.filePrefix}.
     */
    public static DmaOptions fromSystemProperties() {
        DmaOptions o = defaults();
        String mb = System.getProperty("ustor.dma.memSizeMb");
        if (mb != null) {
            o = o.withMemorySizeMb(Long.parseLong(mb.trim()));
        }
        String dir = System.getProperty("ustor.dma.hugeDir");
        if (dir != null && !dir.isBlank()) {
            o = o.withHugeDir(Path.of(dir.trim()));
        }
        if (Boolean.getBoolean("ustor.dma.noHuge")) {
            o = o.withNoHuge(true);
        }
        String mode = System.getProperty("ustor.dma.iovaMode");
        if (mode != null && !mode.isBlank()) {
            o = o.withIovaMode(IovaMode.valueOf(mode.trim().toUpperCase()));
        }
        String prefix = System.getProperty("ustor.dma.filePrefix");
        if (prefix != null && !prefix.isBlank()) {
            o = o.withFilePrefix(prefix.trim());
        }
        return o;
    }

    /** Reserve {@code mb} MiB up front, like SPDK's {@code -s}; 0 grows on demand. */
    public DmaOptions withMemorySizeMb(long mb) {
        return withMemorySize(mb << 20);
    }

    public DmaOptions withMemorySize(long bytes) {
        return new DmaOptions(bytes, hugeDir, noHuge, iovaMode, filePrefix, growthChunk);
    }

    public DmaOptions withHugeDir(Path dir) {
        return new DmaOptions(memorySize, dir, noHuge, iovaMode, filePrefix, growthChunk);
    }

    public DmaOptions withNoHuge(boolean value) {
        return new DmaOptions(memorySize, hugeDir, value, iovaMode, filePrefix, growthChunk);
    }

    public DmaOptions withIovaMode(IovaMode mode) {
        return new DmaOptions(memorySize, hugeDir, noHuge, mode, filePrefix, growthChunk);
    }

    public DmaOptions withFilePrefix(String prefix) {
        return new DmaOptions(memorySize, hugeDir, noHuge, iovaMode, prefix, growthChunk);
    }

    public DmaOptions withGrowthChunk(long bytes) {
        return new DmaOptions(memorySize, hugeDir, noHuge, iovaMode, filePrefix, bytes);
    }
}
