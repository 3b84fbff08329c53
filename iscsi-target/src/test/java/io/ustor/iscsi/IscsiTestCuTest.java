package io.ustor.iscsi;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * libiscsi's conformance suite against an in-process target with a malloc LUN: every suite of the ALL family
 * runs in its own iscsi-test-cu process (so COMPARE AND WRITE's hook cannot leak into other suites), with -S and
 * the URL twice for the data-destroying and multipath tests. Asserts zero failures and writes the score to
 * target/iscsi-test-cu-score.txt.
 */
class IscsiTestCuTest {
    private static final Path TOOL = Path.of("/usr/bin/iscsi-test-cu");
    private TestTarget target;

    @BeforeAll
    static void tool() {
        assumeTrue(Files.isExecutable(TOOL), "iscsi-test-cu is not installed (apt-get install libiscsi-bin)");
        // Sanitize.Reset checks that a sanitize survives task management, resets and a reconnection (about 5 s):
        // pace sanitize writes so one pass over the 64 MiB LUN takes 8 s instead of a few milliseconds.
        System.setProperty(SANITIZE_RATE, String.valueOf(8L << 20));
    }

    private static final String SANITIZE_RATE = "ustor.scsi.sanitize.bytesPerSecond";

    @org.junit.jupiter.api.AfterAll
    static void clearSanitizeRate() {
        System.clearProperty(SANITIZE_RATE);
    }

    @Test
    void mallocLun() throws Exception {
        try (TestTarget t = new TestTarget()) {
            target = t;
            runAll("malloc");
        }
    }

    /** LUN 0 on a sparse file through the aio bdev module. */
    @Test
    void fileLun(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        System.setProperty("ustor.test.lun0.file", dir.resolve("lun0.img").toString());
        try (TestTarget t = new TestTarget()) {
            target = t;
            runAll("file");
        } finally {
            System.clearProperty("ustor.test.lun0.file");
        }
    }

    /** The tests that need more than one logical block per physical block (skipped on the other LUNs). */
    static final List<String> NEED_LBPPB_GT_1 = List.of("CompareAndWrite.InvalidDataOutSize",
            "WriteSame10.UnmapUnaligned", "WriteSame16.UnmapUnaligned", "WriteSame10.InvalidDataOutSize",
            "WriteSame16.InvalidDataOutSize");

    /**
     * A malloc LUN of 512-byte blocks reporting 4 KiB physical blocks (LBPPB 8): the suites that look at LBPPB.
     * The tests the other LUNs skip for "LBPPB < 2" run and pass here. GetLBAStatus.UnmapSingle's second half
     * cannot pass with LBPPB > 1: after unmapping LBAs [0, i) it asks for the status at LBA i + 1 and wants the
     * first descriptor to start at i + LBPPB, where SBC says it starts at the requested LBA (i + 1; the first half
     * of the same test checks exactly that, at i + LBPPB); so that one test is allowed to fail here, alone.
     */
    @Test
    void fourKiBPhysicalBlocks() throws Exception {
        System.setProperty("ustor.test.lun0.physicalBlockSize", "4096");
        try (TestTarget t = new TestTarget()) {
            String url = t.url(TestTarget.LUN_PLAIN);
            ConformanceReport total = new ConformanceReport();
            StringBuilder log = new StringBuilder();
            for (String suite : List.of("ALL.ReadCapacity16", "ALL.CompareAndWrite", "ALL.WriteSame10",
                    "ALL.WriteSame16", "ALL.Unmap", "ALL.GetLBAStatus")) {
                runUnit(suite, url, log, total);
            }
            Files.createDirectories(Path.of("target"));
            Files.writeString(Path.of("target", "iscsi-test-cu-lbppb8.log"), log);
            for (String test : NEED_LBPPB_GT_1) {
                assertEquals(ConformanceReport.Result.PASSED, total.results.get(test), test + "\n" + log);
            }
            List<String> failed = total.named(ConformanceReport.Result.FAILED);
            assertTrue(List.of("GetLBAStatus.UnmapSingle").containsAll(failed), "failed: " + failed + "\n" + log);
            System.out.printf("iscsi-test-cu (malloc LUN, 4 KiB physical blocks): %d tests: %d passed, %d failed %s,"
                    + " %d skipped%n", total.results.size(), total.count(ConformanceReport.Result.PASSED),
                    failed.size(), failed, total.count(ConformanceReport.Result.SKIPPED));
        } finally {
            System.clearProperty("ustor.test.lun0.physicalBlockSize");
        }
    }

    static String run(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out;
        try (var in = p.getInputStream()) {
            // iscsi-test-cu writes little; read everything then wait.
            out = in.readAllBytes();
        }
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish in " + timeoutSeconds + " s");
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Runs one suite or test in its own iscsi-test-cu process (-S, the URL twice), adding its output and results. */
    private static void runUnit(String unit, String url, StringBuilder log, ConformanceReport total)
            throws IOException, InterruptedException {
        String out = run(List.of(TOOL.toString(), "-d", "-S", "-t", unit, url, url), 600);
        log.append("### ").append(unit).append('\n').append(out).append('\n');
        ConformanceReport r = ConformanceReport.parse(out);
        assertTrue(!r.results.isEmpty(), unit + " did not run:\n" + out);
        total.results.putAll(r.results);
        total.skipReasons.putAll(r.skipReasons);
    }

    /** The tests of the ALL family ("ALL.Suite.Test"), in --list order. */
    static List<String> tests() throws IOException, InterruptedException {
        List<String> tests = new ArrayList<>();
        for (String line : run(List.of(TOOL.toString(), "--list"), 30).split("\n")) {
            String l = line.trim();
            if (l.startsWith("ALL.") && l.chars().filter(c -> c == '.').count() == 2) {
                tests.add(l);
            }
        }
        return tests;
    }

    /** Suites about write protection and removable media run against the LUN configured that way. */
    static int lunFor(String suite) {
        return switch (suite) {
            case "ALL.ReadOnly" -> TestTarget.LUN_READ_ONLY;
            case "ALL.PreventAllow", "ALL.StartStopUnit", "ALL.NoMedia" -> TestTarget.LUN_REMOVABLE;
            default -> TestTarget.LUN_PLAIN;
        };
    }

    /**
     * Suites whose tests run one per process. PreventAllow's tests reset the LU and the second (multipath) session
     * keeps the resulting unit attention, correctly, into the next test, which does not expect it. (The other
     * suites must share a process: iSCSITMF.LUNResetSimpleAsync depends on state its neighbour leaves in libiscsi.)
     * Sanitize.Reservations leaves the RESERVE(6) of the shared multipath session in place (mpath_sd2_put keeps that
     * session), so the SANITIZE of the next test conflicts with it, correctly.
     */
    static final java.util.Set<String> ONE_TEST_PER_PROCESS = java.util.Set.of("ALL.PreventAllow", "ALL.Sanitize");

    private void runAll(String label) throws Exception {
        List<String> tests = tests();
        assertEquals(230, tests.size(), "iscsi-test-cu --list gave " + tests.size() + " tests");
        List<String> runs = new ArrayList<>();
        for (String test : tests) {
            String suite = test.substring(0, test.lastIndexOf('.'));
            String unit = ONE_TEST_PER_PROCESS.contains(suite) ? test : suite;
            if (!runs.contains(unit)) {
                runs.add(unit);
            }
        }
        StringBuilder log = new StringBuilder();
        ConformanceReport total = new ConformanceReport();
        // Every suite runs in its own process, so COMPARE AND WRITE's CDB hook cannot leak into other suites.
        for (String unit : runs) {
            String suite = unit.chars().filter(c -> c == '.').count() == 2 ? unit.substring(0, unit.lastIndexOf('.')) : unit;
            runUnit(unit, target.url(lunFor(suite)), log, total);
        }
        String score = String.format("iscsi-test-cu (%s LUN): %d tests: %d passed, %d failed, %d skipped%n",
                label, total.results.size(), total.count(ConformanceReport.Result.PASSED),
                total.count(ConformanceReport.Result.FAILED), total.count(ConformanceReport.Result.SKIPPED));
        StringBuilder skips = new StringBuilder();
        total.skipReasons.forEach((k, v) -> skips.append("  skipped ").append(k).append(": ").append(v).append('\n'));
        Path dir = Path.of("target");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("iscsi-test-cu-score-" + label + ".txt"), score + skips);
        Files.writeString(dir.resolve("iscsi-test-cu-" + label + ".log"), log);
        System.out.print(score + skips);
        assertEquals(List.of(), total.named(ConformanceReport.Result.FAILED), score);
        assertEquals(230, total.results.size(), "tests seen: " + score);
    }
}
