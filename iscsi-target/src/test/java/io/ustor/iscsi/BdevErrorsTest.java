package io.ustor.iscsi;

import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.bdev.error.ErrorBdev;
import io.ustor.bdev.error.ErrorType;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What an initiator sees when the device under a LUN fails, driven by the error injection bdev: failed reads and
 * writes end in CHECK CONDITION with MEDIUM ERROR sense, the LUN keeps serving, and a request the device never
 * answers is cleared by a LOGICAL UNIT RESET (an ABORT TASK of it waits until then).
 */
class BdevErrorsTest {
    private static final String IQN = "iqn.2016-06.io.ustor:errors";
    private static final int BLOCK = 512;
    private static final int CHECK_CONDITION = 0x02, MEDIUM_ERROR = 0x03;

    private ReactorGroup reactors;
    private BdevRegistry bdevs;
    private ErrorBdev ee;
    private IscsiTarget target;

    @BeforeEach
    void start() {
        reactors = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        bdevs = new BdevRegistry(reactors);
        bdevs.register(MallocBdev.create("Base0", 16384, BLOCK, null));
        ee = ErrorBdev.create(bdevs, "Base0", null);
        bdevs.register(ee);
        target = IscsiTarget.start(reactors, bdevs, IscsiOptions.defaults());
        target.createPortalGroup(1, List.of(new Portal("127.0.0.1", 0)), false);
        target.createInitiatorGroup(1, List.of("ANY"), List.of("ANY"));
        target.createTargetNode(IQN, "errors", List.of(new PgIgMapping(1, 1)), List.of(new LunSpec("EE_Base0", 0)),
                32, ChapPolicy.none(), false, false);
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

    @Test
    void failedReadsAndWritesAreMediumErrorsAndTheLunKeepsServing() throws Exception {
        try (MiniInitiator m = session()) {
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 0x6b);
            assertEquals(0, m.write(16, data, BLOCK));

            ee.inject(IoType.READ, ErrorType.FAILURE, 1, 0, 0, 0);
            int itt = m.itt;
            m.send(m.command(0x40, 4096, MiniInitiator.rw10(0x28, 16, 8)), null);
            assertArrayEquals(new int[]{CHECK_CONDITION, MEDIUM_ERROR, 0x11, 0x00}, m.responseTo(itt),
                    "UNRECOVERED READ ERROR");
            assertArrayEquals(data, m.read(16, 8, BLOCK), "the next read is served");

            ee.inject(IoType.WRITE, ErrorType.FAILURE, 1, 0, 0, 0);
            itt = m.itt;
            m.send(m.command(0x20, 4096, MiniInitiator.rw10(0x2a, 32, 8)), new byte[4096]);
            assertArrayEquals(new int[]{CHECK_CONDITION, MEDIUM_ERROR, 0x0c, 0x00}, m.responseTo(itt), "WRITE ERROR");
            assertEquals(0, m.write(32, data, BLOCK));
        }
    }

    @Test
    void aRequestTheDeviceNeverAnswersIsClearedByALogicalUnitReset() throws Exception {
        try (MiniInitiator m = session()) {
            ee.inject(IoType.READ, ErrorType.PENDING, 1, 0, 0, 0);
            int readItt = m.itt, readCmdSn = m.cmdSn;
            m.send(m.command(0x40, 4096, MiniInitiator.rw10(0x28, 0, 8)), null);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (ee.remaining(IoType.READ) != 0) {
                assertTrue(System.nanoTime() < deadline, "the read never reached the device");
                Thread.sleep(10);
            }
            // ABORT TASK is answered only once the task has terminated: here, not before the reset.
            int abortItt = TaskSetAbortTest.sendTaskManagement(m, 1, 0, readItt, readCmdSn);
            m.socket.setSoTimeout(500);
            assertThrows(java.net.SocketTimeoutException.class, m::read, "nothing answers while the device holds it");
            m.socket.setSoTimeout(30_000);
            int resetItt = TaskSetAbortTest.sendTaskManagement(m, 5, 0, 0xffffffff, 0);
            boolean abortAnswered = false, resetAnswered = false;
            while (!abortAnswered || !resetAnswered) {
                MiniInitiator.Pdu p = m.read();
                assertNotEquals(0x21, p.opcode(), "no SCSI Response for the aborted read");
                if (p.opcode() == 0x22) {
                    assertEquals(0, p.u8(2), "FUNCTION COMPLETE");
                    abortAnswered |= p.i32(16) == abortItt;
                    resetAnswered |= p.i32(16) == resetItt;
                }
            }
            // The reset is reported to the nexus, then the LUN serves again.
            int itt = m.itt;
            m.send(m.command(0, 0, new byte[6]), null);
            assertEquals(CHECK_CONDITION, m.responseTo(itt)[0], "UNIT ATTENTION after the reset");
            assertNotNull(m.read(0, 8, BLOCK));
        }
    }
}
