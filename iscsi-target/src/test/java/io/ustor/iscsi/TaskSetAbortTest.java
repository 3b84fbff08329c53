package io.ustor.iscsi;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.bdev.delay.DelayBdev;
import io.ustor.bdev.delay.DelayLatencies;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Task management functions that reach more than one session (RFC 7143 11.5 and its multi-task abort semantics,
 * SAM-5 7): two sessions on two reactors over real sockets; session B has writes held in flight by a delay bdev
 * when session A sends the function. LUN 0 is the slow one.
 */
class TaskSetAbortTest {
    private static final String IQN = "iqn.2016-06.io.ustor:tmf";
    private static final int BLOCK = 512;
    /** Long enough that B's writes are surely still held when A's function arrives (no timing is asserted). */
    private static final long WRITE_LATENCY_US = 1_500_000;
    private static final int WRITES = 3;

    private ReactorGroup reactors;
    private BdevRegistry bdevs;
    private IscsiTarget target;
    private Bdev base;
    private Bdev slow;

    @BeforeEach
    void start() {
        reactors = ReactorGroup.start(CoreMask.parse("[0,1]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(reactors);
        base = MallocBdev.create("Base0", 16384, BLOCK, null);
        bdevs.register(base);
        slow = DelayBdev.create(bdevs, "Slow0", "Base0",
                new DelayLatencies(0, 0, WRITE_LATENCY_US, WRITE_LATENCY_US), null);
        bdevs.register(slow);
        target = IscsiTarget.start(reactors, bdevs, IscsiOptions.defaults().withTimers(0, 60, 30));
        target.createPortalGroup(1, List.of(new Portal("127.0.0.1", 0)), false);
        target.createInitiatorGroup(1, List.of("ANY"), List.of("ANY"));
        target.createTargetNode(IQN, "tmf", List.of(new PgIgMapping(1, 1)), List.of(new LunSpec("Slow0", 0)), 32,
                ChapPolicy.none(), false, false);
    }

    @AfterEach
    void stop() {
        if (target != null) {
            target.close();
        }
        if (bdevs != null) {
            bdevs.unregisterAll().join();
        }
        if (reactors != null) {
            reactors.close();
        }
    }

    private MiniInitiator session() throws IOException {
        return MiniInitiator.loggedIn(target.boundAddress(1), IQN);
    }

    /** Two sessions, on two different reactors. */
    private MiniInitiator[] twoSessionsOnTwoReactors() throws IOException {
        MiniInitiator a = session(), b = session();
        List<ConnectionInfo> cs = target.connections();
        assertEquals(2, cs.size());
        assertNotEquals(cs.get(0).reactor(), cs.get(1).reactor(), "sessions spread over the reactors: " + cs);
        return new MiniInitiator[]{a, b};
    }

    /** Session B sends writes to LUN 0 and they reach the (slow) bdev: their completions are held. */
    private void writesInFlight(MiniInitiator b) throws IOException, InterruptedException {
        long before = base.stats().ops(IoType.WRITE);
        for (int i = 0; i < WRITES; i++) {
            byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte) (i + 1));
            b.send(b.command(0x20, data.length, MiniInitiator.rw10(0x2a, 8L * i, 8)), data);
        }
        // The delay bdev passes writes to its base at once and holds their completions back.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (base.stats().ops(IoType.WRITE) < before + WRITES) {
            assertTrue(System.nanoTime() < deadline, "B's writes never reached the bdev");
            Thread.sleep(10);
        }
    }

    /** Sends an immediate task management request; returns its response code. */
    private static int taskManagement(MiniInitiator m, int function, int lun) throws IOException {
        return taskManagement(m, function, lun, 0xffffffff, 0);
    }

    static int taskManagement(MiniInitiator m, int function, int lun, int refItt, int refCmdSn)
            throws IOException {
        int itt = sendTaskManagement(m, function, lun, refItt, refCmdSn);
        while (true) {
            MiniInitiator.Pdu p = m.read();
            if (p.opcode() == 0x22) {
                assertEquals(itt, p.i32(16), "ITT of the response");
                return p.u8(2);
            }
            if (p.opcode() == 0x21) {
                throw new AssertionError("a SCSI Response arrived before the task management response");
            }
        }
    }

    /** Sends TEST UNIT READY; returns {status, sense key, ASC, ASCQ} of the first SCSI Response that arrives. */
    private static int[] testUnitReady(MiniInitiator m) throws IOException {
        int itt = m.itt;
        m.send(m.command(0, 0, new byte[6]), null);
        MiniInitiator.Pdu p;
        do {
            p = m.read();
        } while (p.opcode() != 0x21);
        assertEquals(itt, p.i32(16), "the first SCSI Response is the TEST UNIT READY's, not an aborted write's");
        return MiniInitiator.statusAndSense(p);
    }

    /** The next TEST UNIT READY of {@code m} reports CHECK CONDITION, UNIT ATTENTION with this ASC/ASCQ. */
    private static void assertUnitAttention(MiniInitiator m, int asc, int ascq, String what) throws IOException {
        int[] ua = testUnitReady(m);
        assertEquals(0x02, ua[0], "CHECK CONDITION: " + what);
        assertEquals(0x6, ua[1], "UNIT ATTENTION: " + what);
        assertEquals(asc, ua[2], "ASC: " + what);
        assertEquals(ascq, ua[3], "ASCQ: " + what);
    }

    private long slowWritesEnded() {
        return slow.stats().ops(IoType.WRITE) + slow.stats().errors(IoType.WRITE);
    }

    @Test
    void logicalUnitResetFromOneSessionAbortsAnotherSessionsTasks() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            writesInFlight(b);
            assertEquals(0, taskManagement(a, 5, 0), "LOGICAL UNIT RESET: FUNCTION COMPLETE");
            // Answered only after the held writes terminated and the bdev reset (which drains them) completed.
            assertEquals(WRITES, slowWritesEnded(), "B's writes terminated before the response");

            // B's aborted writes get no response (TAS=0); B's next command reports the reset.
            assertUnitAttention(b, 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED");
            assertEquals(0, testUnitReady(b)[0], "the unit attention is reported once");

            // SAM-5 6.3.3: every I_T nexus gets the unit attention, the one that asked for the reset too.
            assertUnitAttention(a, 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED, to the resetting nexus too");
            assertEquals(0, testUnitReady(a)[0]);

            // Both sessions work on.
            byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte) 0x5a);
            assertEquals(0, b.write(64, data, BLOCK));
            assertArrayEquals(data, a.read(64, 8, BLOCK));
        }
    }

    @Test
    void clearTaskSetAbortsEverySessionsTasksAndTellsTheOthers() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            writesInFlight(b);
            assertEquals(0, taskManagement(a, 4, 0), "CLEAR TASK SET: FUNCTION COMPLETE");
            assertEquals(WRITES, slowWritesEnded(), "B's writes terminated before the response");
            assertUnitAttention(b, 0x2f, 0x00, "COMMANDS CLEARED BY ANOTHER INITIATOR");
            assertEquals(0, testUnitReady(a)[0], "no unit attention for the nexus that cleared");
        }
    }

    /**
     * Two overlapping functions: ABORT TASK SET, then at once ABORT TASK for one of the same writes and a second
     * ABORT TASK SET. Each is answered only once the writes it covers have terminated, not at once because the
     * first already marked them aborted.
     */
    @Test
    void overlappingFunctionsEachWaitForTheAbortedTasks() throws Exception {
        try (MiniInitiator a = session()) {
            long before = slowWritesEnded();
            int firstItt = a.itt, firstCmdSn = a.cmdSn;
            writesInFlight(a);
            int[] itts = new int[3];
            itts[0] = sendTaskManagement(a, 2, 0, 0xffffffff, 0);
            itts[1] = sendTaskManagement(a, 1, 0, firstItt, firstCmdSn);
            itts[2] = sendTaskManagement(a, 2, 0, 0xffffffff, 0);
            for (int i = 0; i < 3; i++) {
                MiniInitiator.Pdu p;
                do {
                    p = a.read();
                    assertNotEquals(0x21, p.opcode(), "no SCSI Response for an aborted write");
                } while (p.opcode() != 0x22);
                assertEquals(0, p.u8(2), "FUNCTION COMPLETE");
                assertEquals(before + WRITES, slowWritesEnded(), "answered after the writes terminated, response "
                        + i + " (ITT " + p.i32(16) + " of " + java.util.Arrays.toString(itts) + ")");
            }
            assertEquals(0, testUnitReady(a)[0]);
        }
    }

    /** Sends an immediate task management request without waiting; returns its ITT. */
    static int sendTaskManagement(MiniInitiator m, int function, int lun, int refItt, int refCmdSn)
            throws IOException {
        byte[] h = MiniInitiator.header(0x02 | 0x40, 0x80 | function);
        h[9] = (byte) lun;
        int itt = m.itt++;
        MiniInitiator.put32(h, 16, itt);
        MiniInitiator.put32(h, 20, refItt);
        MiniInitiator.put32(h, 24, m.cmdSn);
        MiniInitiator.put32(h, 28, m.expStatSn);
        MiniInitiator.put32(h, 32, refCmdSn);
        m.send(h, null);
        return itt;
    }

    /**
     * ABORT TASK on a WRITE SAME of four chunks while its first chunk is held: the function completes when that
     * chunk ends, and the other three are never written (an aborted command changes nothing more).
     */
    @Test
    void abortedWriteSameStopsBetweenChunks() throws Exception {
        try (MiniInitiator a = session()) {
            long lba = 4096, blocks = 4 * (io.ustor.scsi.ScsiLun.OPTIMAL_TRANSFER_BYTES / BLOCK);
            byte[] cdb = new byte[16];
            cdb[0] = (byte) 0x93; // WRITE SAME (16)
            java.nio.ByteBuffer.wrap(cdb).putLong(2, lba).putInt(10, (int) blocks);
            byte[] block = new byte[BLOCK];
            java.util.Arrays.fill(block, (byte) 0xab);
            long before = base.stats().ops(IoType.WRITE);
            int itt = a.itt, cmdSn = a.cmdSn;
            a.send(a.command(0x20, BLOCK, cdb), block);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (base.stats().ops(IoType.WRITE) == before) {
                assertTrue(System.nanoTime() < deadline, "the first chunk never reached the bdev");
                Thread.sleep(10);
            }
            assertEquals(0, taskManagement(a, 1, 0, itt, cmdSn), "ABORT TASK: FUNCTION COMPLETE");
            assertEquals(before + 1, base.stats().ops(IoType.WRITE), "only the first chunk was written");
            byte[] first = a.read(lba, 8, BLOCK), last = a.read(lba + blocks - 8, 8, BLOCK);
            assertEquals((byte) 0xab, first[0], "the first chunk landed");
            assertArrayEquals(new byte[8 * BLOCK], last, "the last chunk was never written");
            assertEquals(0, testUnitReady(a)[0], "no response for the aborted command");
        }
    }

    @Test
    void abortTaskSetOnlyAbortsTheIssuingSessionsTasks() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            writesInFlight(b);
            assertEquals(0, taskManagement(a, 2, 0), "ABORT TASK SET: FUNCTION COMPLETE");
            // B's writes are another nexus's: they finish normally.
            for (int i = 0; i < WRITES; i++) {
                MiniInitiator.Pdu p;
                do {
                    p = b.read();
                } while (p.opcode() != 0x21);
                assertEquals(0, p.u8(3), "GOOD");
            }
            assertEquals(0, testUnitReady(b)[0]);

            // A's own writes are aborted: no responses, and the function is answered once they terminated.
            long before = slowWritesEnded();
            writesInFlight(a);
            assertEquals(0, taskManagement(a, 2, 0), "ABORT TASK SET: FUNCTION COMPLETE");
            assertEquals(before + WRITES, slowWritesEnded(), "A's writes terminated before the response");
            assertEquals(0, testUnitReady(a)[0], "the next response is the TEST UNIT READY's");
        }
    }

    @Test
    void targetColdResetEndsEverySessionOfTheTarget() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            writesInFlight(b);
            assertEquals(0, taskManagement(a, 7, 0), "TARGET COLD RESET: FUNCTION COMPLETE");
            assertTrue(closedWithin(a), "the issuing connection is closed after the response");
            assertTrue(closedWithin(b), "every other connection to the target is closed (RFC 7143 11.5.1)");
        }
        try (MiniInitiator c = session()) {
            assertEquals(0, testUnitReady(c)[0], "a new session logs in and works");
        }
    }

    @Test
    void targetWarmResetReportsTheResetToTheOtherNexuses() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            writesInFlight(b);
            assertEquals(0, taskManagement(a, 6, 0), "TARGET WARM RESET: FUNCTION COMPLETE");
            assertEquals(WRITES, slowWritesEnded(), "B's writes terminated before the response");
            assertUnitAttention(b, 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED");
            assertEquals(0, testUnitReady(a)[0], "the nexus that reset the target is not told");
        }
    }

    @Test
    void abortTaskIsAnsweredOnceTheTaskTerminated() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            long before = slowWritesEnded();
            int firstItt = a.itt, firstCmdSn = a.cmdSn;
            writesInFlight(a);
            assertEquals(0, taskManagement(a, 1, 0, firstItt, firstCmdSn), "ABORT TASK: FUNCTION COMPLETE");
            assertTrue(slowWritesEnded() > before, "the aborted write terminated before the response");
            // The two other writes complete normally, the aborted one has no response.
            for (int i = 0; i < WRITES - 1; i++) {
                MiniInitiator.Pdu p;
                do {
                    p = a.read();
                } while (p.opcode() != 0x21);
                assertNotEquals(firstItt, p.i32(16), "no response for the aborted task");
                assertEquals(0, p.u8(3), "GOOD");
            }
            assertEquals(0, testUnitReady(a)[0]);
            assertEquals(0, testUnitReady(b)[0], "another nexus is not affected");
        }
    }

    @Test
    void aWriteWaitingForItsDataIsAbortedAndItsLateDataDropped() throws Exception {
        MiniInitiator[] s = twoSessionsOnTwoReactors();
        try (MiniInitiator a = s[0]; MiniInitiator b = s[1]) {
            // B's WRITE of 64 KiB without immediate data: the target asks for it with an R2T, B holds it back.
            byte[] h = b.command(0x20, 65536, MiniInitiator.rw10(0x2a, 256, 128));
            int itt = java.nio.ByteBuffer.wrap(h, 16, 4).getInt();
            b.send(h, null);
            MiniInitiator.Pdu r2t = b.read();
            assertEquals(0x31, r2t.opcode(), "R2T");
            assertEquals(0, taskManagement(a, 5, 0), "LOGICAL UNIT RESET: FUNCTION COMPLETE");
            // The data comes late: dropped (the task is gone), the session goes on.
            byte[] d = MiniInitiator.header(0x05, 0x80);
            MiniInitiator.put32(d, 16, itt);
            MiniInitiator.put32(d, 20, r2t.i32(20));
            MiniInitiator.put32(d, 28, b.expStatSn);
            MiniInitiator.put32(d, 40, r2t.i32(40));
            b.send(d, new byte[r2t.i32(44)]);
            assertUnitAttention(b, 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED, not the write's status");
            assertEquals(0, testUnitReady(b)[0]);
        }
    }

    /** Reads until the target closes the connection (true) or 30 s pass without it (false). */
    private static boolean closedWithin(MiniInitiator m) {
        try {
            while (true) {
                m.read();
            }
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }
}
