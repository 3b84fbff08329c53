package io.ustor.env;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the kernel offers in 2 MiB huge pages: the pool counters from sysfs (/proc/meminfo when sysfs lacks them)
 * and the hugetlbfs mounts from /proc/mounts. Control plane; every call reads the files afresh.
 */
public final class HugePages {
    /** The huge page size DMA memory uses. */
    public static final long SIZE_2M = 2L << 20;
    private static final Path SYSFS_2M = Path.of("/sys/kernel/mm/hugepages/hugepages-2048kB");

    private HugePages() {
    }

    /** Counters of the 2 MiB pool: pages in it, free, reserved by mappings but not yet faulted in. */
    public record Status(long total, long free, long reserved) {
        /** Pages a new mapping can still get (free minus reserved). */
        public long available() {
            return Math.max(0, free - reserved);
        }

        @Override
        public String toString() {
            return "HugePages(2 MiB) total " + total + ", free " + free + ", reserved " + reserved;
        }
    }

    /** The 2 MiB pool's counters now; zeros when the kernel has no hugetlb support. */
    public static Status status2M() {
        if (Files.isDirectory(SYSFS_2M)) {
            return new Status(readLong(SYSFS_2M.resolve("nr_hugepages")), readLong(SYSFS_2M.resolve("free_hugepages")),
                    readLong(SYSFS_2M.resolve("resv_hugepages")));
        }
        long total = 0, free = 0, rsvd = 0, size = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                String[] f = line.split("\\s+");
                switch (f[0]) {
                    case "HugePages_Total:" -> total = Long.parseLong(f[1]);
                    case "HugePages_Free:" -> free = Long.parseLong(f[1]);
                    case "HugePages_Rsvd:" -> rsvd = Long.parseLong(f[1]);
                    case "Hugepagesize:" -> size = Long.parseLong(f[1]) * 1024;
                    default -> {
                    }
                }
            }
        } catch (IOException e) {
            return new Status(0, 0, 0);
        }
        return size == SIZE_2M ? new Status(total, free, rsvd) : new Status(0, 0, 0);
    }

    /** Mount points of hugetlbfs file systems with 2 MiB pages, /dev/hugepages first when it is one. */
    public static List<Path> hugetlbfsMounts2M() {
        List<Path> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length >= 4 && f[2].equals("hugetlbfs") && pageSizeOf(f[3]) == SIZE_2M) {
                    Path p = Path.of(unescape(f[1]));
                    if (p.equals(Path.of("/dev/hugepages"))) {
                        mounts.addFirst(p);
                    } else {
                        mounts.add(p);
                    }
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return mounts;
    }

    /** Whether {@code dir} is the mount point of a hugetlbfs with 2 MiB pages. */
    public static boolean isHugetlbfs2M(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        return hugetlbfsMounts2M().contains(abs);
    }

    private static long pageSizeOf(String options) {
        for (String o : options.split(",")) {
            if (o.startsWith("pagesize=")) {
                String v = o.substring("pagesize=".length()).toUpperCase();
                long mult = v.endsWith("G") ? 1L << 30 : v.endsWith("M") ? 1L << 20 : v.endsWith("K") ? 1L << 10 : 1;
                return Long.parseLong(v.replaceAll("[GMK]$", "")) * mult;
            }
        }
        return defaultPageSize();
    }

    private static long defaultPageSize() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("Hugepagesize:")) {
                    return Long.parseLong(line.split("\\s+")[1]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException ignored) {
            // fall through
        }
        return SIZE_2M;
    }

    private static String unescape(String mountPoint) {
        return mountPoint.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    private static long readLong(Path p) {
        try {
            return Long.parseLong(Files.readString(p).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }
}
