package io.ustor.perf;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BdevperfOptionsTest {

    @Test
    void parsesSpdkStyleCommandLine() throws UsageException {
        BdevperfOptions o = BdevperfOptions.parse("--json", "bdevs.json", "-q", "128", "-o", "4096", "-w", "randread",
                "-t", "10", "-m", "0x3", "-T", "Malloc0");
        assertEquals(Path.of("bdevs.json"), o.jsonConfig());
        assertEquals(128, o.queueDepth());
        assertEquals(4096, o.ioSize());
        assertEquals(Workload.RANDREAD, o.workload());
        assertEquals(100, o.readPercentage());
        assertEquals(10, o.timeSeconds());
        assertEquals("0x3", o.coreMask());
        assertEquals("Malloc0", o.bdevName());
        assertEquals(1, o.progressSeconds());
        assertFalse(o.perJobProgress());
        assertFalse(o.everyCore());
        assertNull(o.jsonResults());
        assertTrue(o.warnings().isEmpty());
    }

    @Test
    void acceptsGetoptAndLongOptionForms() throws UsageException {
        BdevperfOptions o = BdevperfOptions.parse("-cconf.json", "-q32", "-o128K", "-wrandrw", "-M70", "-t1",
                "--json-results=out.json", "-S", "2", "-C", "-f", "--cpumask=[0-1]");
        assertEquals(Path.of("conf.json"), o.jsonConfig());
        assertEquals(32, o.queueDepth());
        assertEquals(128 * 1024, o.ioSize());
        assertEquals(Workload.RANDRW, o.workload());
        assertEquals(70, o.readPercentage());
        assertEquals(Path.of("out.json"), o.jsonResults());
        assertFalse(o.jsonToStdout());
        assertEquals(2, o.progressSeconds());
        assertTrue(o.perJobProgress());
        assertTrue(o.everyCore());
        assertTrue(o.continueOnFailure());
        assertEquals("[0-1]", o.coreMask());
    }

    @Test
    void ioSizeTakesUnits() throws UsageException {
        assertEquals(4096, parseSize("4096"));
        assertEquals(4096, parseSize("4k"));
        assertEquals(4096, parseSize("4K"));
        assertEquals(131072, parseSize("128K"));
        assertEquals(1 << 20, parseSize("1M"));
        assertEquals(1 << 20, parseSize("1MiB"));
    }

    private static int parseSize(String s) throws UsageException {
        return BdevperfOptions.parse("-q", "1", "-o", s, "-w", "read", "-t", "1").ioSize();
    }

    @Test
    void workloadsImplyReadPercentage() throws UsageException {
        assertEquals(0, BdevperfOptions.parse("-q", "1", "-o", "512", "-w", "write", "-t", "1").readPercentage());
        assertEquals(100, BdevperfOptions.parse("-q", "1", "-o", "512", "-w", "read", "-t", "1").readPercentage());
        for (String w : new String[]{"verify", "unmap", "flush", "write_zeroes", "randwrite"}) {
            assertEquals(w, BdevperfOptions.parse("-q", "1", "-o", "512", "-w", w, "-t", "1").workload().spdkName());
        }
    }

    @Test
    void minusMOutsideMixedWorkloadsIsIgnoredWithAWarning() throws UsageException {
        BdevperfOptions o = BdevperfOptions.parse("-q", "1", "-o", "512", "-w", "randread", "-t", "1", "-M", "30");
        assertEquals(100, o.readPercentage());
        assertEquals(1, o.warnings().size());
        assertTrue(o.warnings().getFirst().contains("Ignoring -M"));
    }

    @Test
    void jsonResultsDashMeansStdout() throws UsageException {
        assertTrue(BdevperfOptions.parse("-q", "1", "-o", "512", "-w", "read", "-t", "1", "--json-results", "-").jsonToStdout());
    }

    @Test
    void errorsNameTheOption() {
        assertError("-q (io depth) is required", "-o", "4096", "-w", "read", "-t", "1");
        assertError("-o (io size) is required", "-q", "1", "-w", "read", "-t", "1");
        assertError("-w (io pattern) is required", "-q", "1", "-o", "4k", "-t", "1");
        assertError("-t (time in seconds) is required", "-q", "1", "-o", "4k", "-w", "read");
        assertError("-w: 'randomread' is not an io pattern", "-q", "1", "-o", "4k", "-w", "randomread", "-t", "1");
        assertError("-M must be specified", "-q", "1", "-o", "4k", "-w", "rw", "-t", "1");
        assertError("-M: 101 is not a percentage", "-q", "1", "-o", "4k", "-w", "rw", "-M", "101", "-t", "1");
        assertError("-q: 'x' is not a number", "-q", "x", "-o", "4k", "-w", "read", "-t", "1");
        assertError("-q: must be greater than 0", "-q", "0", "-o", "4k", "-w", "read", "-t", "1");
        assertError("-q: '-5' is negative", "-q", "-5", "-o", "4k", "-w", "read", "-t", "1");
        assertError("-t: '99999999999' is too large", "-q", "1", "-o", "4k", "-w", "read", "-t", "99999999999");
        assertError("-o: invalid IO size", "-q", "1", "-o", "4x", "-w", "read", "-t", "1");
        assertError("-o: io size must be greater than 0", "-q", "1", "-o", "0", "-w", "read", "-t", "1");
        assertError("-o: io size '4G' is too large", "-q", "1", "-o", "4G", "-w", "read", "-t", "1");
        assertError("-t needs a value", "-q", "1", "-o", "4k", "-w", "read", "-t");
        assertError("unknown option '--bogus'", "--bogus");
        assertError("unexpected argument 'stray'", "stray");
        assertError("-C takes no value", "-C=1");
    }

    private static void assertError(String expected, String... args) {
        UsageException e = assertThrows(UsageException.class, () -> BdevperfOptions.parse(args));
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }

    @Test
    void helpPrintsUsageAndExitsZero() {
        var out = new java.io.ByteArrayOutputStream();
        int rc = Bdevperf.run(new String[]{"--help"}, new java.io.PrintStream(out), System.err);
        assertEquals(0, rc);
        assertTrue(out.toString().contains("-w <type>"));
    }

    @Test
    void badCommandLineExitsTwo() {
        var err = new java.io.ByteArrayOutputStream();
        int rc = Bdevperf.run(new String[]{"-q", "1"}, System.out, new java.io.PrintStream(err));
        assertEquals(2, rc);
        assertTrue(err.toString().contains("-o (io size) is required"));
    }
}
