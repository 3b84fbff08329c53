package io.ustor.perf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bdevperf in-process against real bdevs from a real SPDK JSON config: short runs, no timing assertions. */
class BdevperfRunTest {
    @TempDir
    Path dir;

    private record Run(int rc, String out, String err) {
    }

    private Run bdevperf(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Bdevperf.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path config(String... calls) throws IOException {
        Path p = dir.resolve("bdevs.json");
        Files.writeString(p, """
                {"subsystems": [{"subsystem": "bdev", "config": [%s]}]}
                """.formatted(String.join(",", calls)));
        return p;
    }

    private static String malloc(String name, long blocks, int blockSize) {
        return """
                {"method": "bdev_malloc_create", "params": {"name": "%s", "num_blocks": %d, "block_size": %d}}"""
                .formatted(name, blocks, blockSize);
    }

    private static String nul(String name, long blocks, int blockSize) {
        return """
                {"method": "bdev_null_create", "params": {"name": "%s", "num_blocks": %d, "block_size": %d}}"""
                .formatted(name, blocks, blockSize);
    }

    @Test
    void verifyRunsCleanOnMallocAndNullAndWritesJsonResults() throws IOException {
        Path cfg = config(malloc("Malloc0", 2048, 4096), nul("Null0", 2048, 512));
        Path json = dir.resolve("results.json");
        Run r = bdevperf("--json", cfg.toString(), "-q", "16", "-o", "4k", "-w", "verify", "-t", "1", "-m", "0x1",
                "--json-results", json.toString());
        assertEquals(0, r.rc(), () -> r.out() + r.err());
        assertTrue(r.out().contains("Running I/O for 1 seconds..."), r.out());
        assertTrue(r.out().contains("Job: Malloc0 (Core Mask 0x1, workload: verify, depth: 16, IO size: 4096)"), r.out());
        assertTrue(r.out().contains("Verification LBA range: start 0x0 length 0x800"), r.out());
        assertTrue(r.out().contains("Job: Null0"), r.out());
        assertTrue(r.out().contains(" Total "), r.out());

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals(1, root.get("core_count").asInt());
        assertEquals(2, root.get("results").size());
        List<String> jobs = new ArrayList<>();
        for (JsonNode j : root.get("results")) {
            jobs.add(j.get("job").asText());
            assertEquals("0x1", j.get("core_mask").asText());
            assertEquals("verify", j.get("workload").asText());
            assertEquals("finished", j.get("status").asText());
            assertEquals(16, j.get("queue_depth").asInt());
            assertEquals(4096, j.get("io_size").asInt());
            assertEquals(0, j.get("io_failed").asLong());
            assertTrue(j.get("io_completed").asLong() > 0, j::toString);
            assertEquals(0, j.get("verify_range").get("start").asLong());
            for (String f : new String[]{"runtime", "iops", "mibps", "io_timeout", "avg_latency_us", "min_latency_us",
                    "max_latency_us", "p50_latency_us", "p99_latency_us", "p999_latency_us", "cpu_seconds"}) {
                assertTrue(j.get(f).isNumber(), () -> f + " missing in " + j);
            }
            assertTrue(j.get("min_latency_us").asDouble() <= j.get("p50_latency_us").asDouble());
            assertTrue(j.get("p50_latency_us").asDouble() <= j.get("p99_latency_us").asDouble());
            assertTrue(j.get("p99_latency_us").asDouble() <= j.get("max_latency_us").asDouble());
        }
        assertEquals(List.of("Malloc0", "Null0"), jobs.stream().sorted().toList());
        assertEquals(2048 / 1, root.get("results").get(jobs.indexOf("Malloc0")).get("verify_range").get("length").asLong());
        JsonNode total = root.get("total");
        assertTrue(total.get("cpu_seconds").asDouble() > 0, total::toString);
        assertTrue(total.get("ios_per_cpu_second").asDouble() > 0, total::toString);
        assertEquals(total.get("io_completed").asLong(),
                root.get("results").get(0).get("io_completed").asLong() + root.get("results").get(1).get("io_completed").asLong());
    }

    @Test
    void verifyRunsCleanOnAFileBdev() throws IOException {
        Path file = dir.resolve("aio.img");
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(8L << 20);
        }
        Path cfg = config("""
                {"method": "bdev_aio_create", "params": {"name": "AIO0", "filename": "%s", "block_size": 4096}}"""
                .formatted(file));
        Path json = dir.resolve("aio.json");
        Run r = bdevperf("--json", cfg.toString(), "-q", "8", "-o", "8k", "-w", "verify", "-t", "1",
                "--json-results", json.toString());
        assertEquals(0, r.rc(), () -> r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(json.toFile()).get("results").get(0);
        assertEquals("AIO0", j.get("job").asText());
        assertEquals("finished", j.get("status").asText());
        assertEquals(0, j.get("io_failed").asLong());
        assertTrue(j.get("io_completed").asLong() > 0, j::toString);
        assertEquals(1024, j.get("verify_range").get("length").asLong());
    }

    @Test
    void mixedWorkloadOnOneBdevWithJsonOnStdout() throws IOException {
        Path cfg = config(malloc("Malloc0", 1024, 512), nul("Null0", 1024, 512));
        Run r = bdevperf("-c", cfg.toString(), "-q", "4", "-o", "8k", "-w", "randrw", "-M", "50", "-t", "1",
                "-T", "Malloc0", "--json-results", "-");
        assertEquals(0, r.rc(), () -> r.out() + r.err());
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertEquals(1, root.get("results").size());
        JsonNode j = root.get("results").get(0);
        assertEquals("Malloc0", j.get("job").asText());
        assertEquals("randrw", j.get("workload").asText());
        assertEquals(50, j.get("percentage").asInt());
        assertTrue(r.err().contains("Job: Malloc0 (Core Mask 0x1, workload: randrw, percentage: 50, depth: 4, IO size: 8192)"), r.err());
    }

    @Test
    void everyCoreSplitsTheBdevBetweenTheReactors() throws IOException {
        Path cfg = config(malloc("Malloc0", 1024, 4096));
        Path json = dir.resolve("c.json");
        Run r = bdevperf("--json", cfg.toString(), "-q", "4", "-o", "4k", "-w", "verify", "-t", "1", "-m", "0x3", "-C",
                "--json-results", json.toString());
        assertEquals(0, r.rc(), () -> r.out() + r.err());
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals(2, root.get("core_count").asInt());
        List<String> slices = new ArrayList<>();
        for (JsonNode j : root.get("results")) {
            assertEquals("finished", j.get("status").asText());
            slices.add(j.get("core_mask").asText() + "@" + j.get("verify_range").get("start").asLong()
                    + "+" + j.get("verify_range").get("length").asLong());
        }
        assertEquals(List.of("0x1@0+512", "0x2@512+512"), slices.stream().sorted().toList());
    }

    @Test
    void jobsGoRoundRobinOverTheCores() throws IOException {
        Path cfg = config(malloc("Malloc0", 256, 4096), nul("Null0", 256, 4096));
        Path json = dir.resolve("rr.json");
        Run r = bdevperf("--json", cfg.toString(), "-q", "4", "-o", "4k", "-w", "randread", "-t", "1", "-m", "0x3",
                "--json-results", json.toString());
        assertEquals(0, r.rc(), () -> r.out() + r.err());
        List<String> masks = new ArrayList<>();
        for (JsonNode j : new ObjectMapper().readTree(json.toFile()).get("results")) {
            masks.add(j.get("core_mask").asText());
        }
        assertEquals(List.of("0x1", "0x2"), masks.stream().sorted().toList());
    }

    @Test
    void otherWorkloadsComplete() throws IOException {
        Path cfg = config(malloc("Malloc0", 1024, 4096));
        for (String w : new String[]{"read", "write", "randwrite", "write_zeroes", "unmap"}) {
            Run r = bdevperf("--json", cfg.toString(), "-q", "8", "-o", "4096", "-w", w, "-t", "1");
            assertEquals(0, r.rc(), () -> w + ": " + r.out() + r.err());
            assertTrue(r.out().contains("workload: " + w), r.out());
        }
    }

    @Test
    void ioSizeThatIsNotABlockMultipleFails() throws IOException {
        Path cfg = config(malloc("Malloc0", 1024, 4096));
        Run r = bdevperf("--json", cfg.toString(), "-q", "8", "-o", "512", "-w", "read", "-t", "1");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("IO size (512) is not multiples of data block size of bdev Malloc0 (4096)"), r.err());
    }

    @Test
    void unknownBdevFails() throws IOException {
        Path cfg = config(malloc("Malloc0", 1024, 4096));
        Run r = bdevperf("--json", cfg.toString(), "-q", "8", "-o", "4k", "-w", "read", "-t", "1", "-T", "Nope0");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("Unable to find bdev 'Nope0'"), r.err());
    }

    @Test
    void badConfigFailsWithTheMethodsError() throws IOException {
        Path cfg = config("""
                {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "block_size": 4096}}""");
        Run r = bdevperf("--json", cfg.toString(), "-q", "8", "-o", "4k", "-w", "read", "-t", "1");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("num_blocks"), r.err());
    }

    @Test
    void noBdevsFails() throws IOException {
        Path cfg = config();
        Run r = bdevperf("--json", cfg.toString(), "-q", "8", "-o", "4k", "-w", "read", "-t", "1");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("No jobs defined or bdevs created"), r.err());
    }
}
