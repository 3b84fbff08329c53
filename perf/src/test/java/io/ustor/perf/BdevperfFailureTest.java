package io.ustor.perf;

import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaMemory;
import io.ustor.perf.config.PerfEnvironment;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Verify miscompares and I/O errors stop the run and fail it, found through a fault-injecting bdev. */
class BdevperfFailureTest {
    private ReactorGroup group;
    private BdevRegistry registry;
    private PerfEnvironment env;

    @BeforeEach
    void start() {
        group = ReactorGroup.start(CoreMask.parse("0x1"), ReactorOptions.defaults());
        registry = new BdevRegistry(group);
        env = new PerfEnvironment() {
            @Override
            public ReactorGroup reactors() {
                return group;
            }

            @Override
            public BdevRegistry bdevs() {
                return registry;
            }

            @Override
            public DmaMemory dma() {
                return DmaMemory.get();
            }

            @Override
            public void close() {
            }
        };
    }

    @AfterEach
    void stop() throws Exception {
        registry.unregisterAll().get(10, TimeUnit.SECONDS);
        group.close();
    }

    private static BdevperfOptions options(String... args) throws UsageException {
        return BdevperfOptions.parse(args);
    }

    @Test
    void verifyMiscompareIsReportedWithItsOffsetAndFailsTheRun() throws Exception {
        registry.register(new FaultyBdev("Faulty0", 64, 512, 21, -1));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BdevperfReport report = Bdevperf.run(options("-q", "4", "-o", "4096", "-w", "verify", "-t", "1"), env,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(report.failed());
        assertEquals("failed", report.results().getFirst().status());
        // Block 21 sits in the I/O at block 16 (8 blocks of 512 per 4 KiB), 5 blocks and 100 bytes in.
        assertTrue(text.contains("Buffer mismatch! Target: Faulty0 Disk Offset: 16 (block 21, byte " + (5 * 512 + 100)),
                text);
    }

    @Test
    void ioErrorIsReportedWithItsOffsetAndFailsTheRun() throws Exception {
        registry.register(new FaultyBdev("Faulty0", 64, 512, -1, 40));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BdevperfReport report = Bdevperf.run(options("-q", "2", "-o", "4096", "-w", "read", "-t", "1"), env,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(report.failed());
        assertEquals(1, report.results().getFirst().ioFailed());
        assertTrue(text.contains("task offset: 40 on job bdev=Faulty0 fails"), text);
    }

    @Test
    void continueOnFailureKeepsGoingButStillFails() throws Exception {
        registry.register(new FaultyBdev("Faulty0", 64, 512, -1, 40));
        BdevperfReport report = Bdevperf.run(options("-q", "2", "-o", "4096", "-w", "read", "-t", "1", "-f"), env,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertTrue(report.failed());
        assertEquals("finished", report.results().getFirst().status());
        assertTrue(report.results().getFirst().ioFailed() > 1);
        assertTrue(report.results().getFirst().ioCompleted() > report.results().getFirst().ioFailed());
    }
}
