package io.ustor.scsi;

import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.malloc.MallocBdev;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SCSI commands through a LunChannel against a real malloc bdev on a real reactor. */
class LunChannelTest {
    private ReactorGroup reactors;
    private BdevRegistry bdevs;
    private BdevDesc desc;
    private ScsiLun lun;
    private Reactor r;
    private final Arena arena = Arena.ofShared();
    private final ScsiNexus nexusA = new ScsiNexus("iqn.a", "iqn.a,i,0x1", "iqn.t,t,0x0001", 1);
    private final ScsiNexus nexusB = new ScsiNexus("iqn.b", "iqn.b,i,0x2", "iqn.t,t,0x0001", 1);

    /** A task with its own buffer, completing into a latch. */
    final class Task extends LatchedTask {
        Task(int... cdbBytes) {
            super(arena, 1 << 20, cdbBytes);
        }
    }

    @BeforeEach
    void start() throws Exception {
        reactors = ReactorGroup.start(CoreMask.parse("[0]"),
                ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE).withPinThreads(false));
        r = reactors.reactor(0);
        bdevs = new BdevRegistry(reactors);
        bdevs.register(MallocBdev.create("M0", 2048, 512, null));
        desc = bdevs.open("M0", true, (t, d) -> { });
        lun = new ScsiLun(0, desc, false);
    }

    private final java.util.List<LunChannel> channels = new java.util.ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        r.call(() -> {
            channels.forEach(LunChannel::close);
            return null;
        }).get(10, TimeUnit.SECONDS);
        desc.close();
        bdevs.unregisterAll().join();
        reactors.close();
        arena.close();
    }

    private LunChannel channel(ScsiNexus n) throws Exception {
        LunChannel lc = r.call(() -> new LunChannel(lun, n, () -> new int[]{0}, 8)).get(10, TimeUnit.SECONDS);
        channels.add(lc);
        return lc;
    }

    private Task run(LunChannel lc, Task t, int dataOut) throws Exception {
        t.expectedLength = dataOut > 0 ? dataOut : 1 << 16;
        t.dataOutLength = dataOut;
        t.dataOut = dataOut > 0;
        t.dataIn = dataOut == 0;
        r.call(() -> {
            lc.execute(t);
            return null;
        }).get(10, TimeUnit.SECONDS);
        assertTrue(t.done.await(10, TimeUnit.SECONDS), "command completed");
        return t;
    }

    @Test
    void writeThenReadReturnsTheData() throws Exception {
        LunChannel lc = channel(nexusA);
        Task w = new Task(0x2a, 0, 0, 0, 0, 10, 0, 0, 2, 0);
        for (int i = 0; i < 1024; i++) {
            w.buf.set(JAVA_BYTE, i, (byte) (i * 7));
        }
        assertEquals(ScsiStatus.GOOD, run(lc, w, 1024).status);
        Task rd = run(lc, new Task(0x28, 0, 0, 0, 0, 10, 0, 0, 2, 0), 0);
        assertEquals(ScsiStatus.GOOD, rd.status);
        assertEquals(1024, rd.transferred);
        for (int i = 0; i < 1024; i++) {
            assertEquals((byte) (i * 7), rd.buf.get(JAVA_BYTE, i));
        }
    }

    @Test
    void errorsCarryTheRightSense() throws Exception {
        LunChannel lc = channel(nexusA);
        Task beyond = run(lc, new Task(0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0), 0); // LBA 2047, 2 blocks
        assertEquals(ScsiStatus.CHECK_CONDITION, beyond.status);
        assertEquals(Sense.ILLEGAL_REQUEST, beyond.senseKey());
        assertEquals(Sense.LBA_OUT_OF_RANGE, beyond.ascq());

        Task unknown = run(lc, new Task(0xc5, 0, 0, 0, 0, 0), 0);
        assertEquals(Sense.INVALID_OPCODE, unknown.ascq());

        Task badPage = run(lc, new Task(0x12, 1, 0x99, 0, 255, 0), 0);
        assertEquals(Sense.INVALID_FIELD_IN_CDB, badPage.ascq());
        assertEquals(0xc0, badPage.sense.get(JAVA_BYTE, 15) & 0xff);
        assertEquals(2, badPage.sense.get(JAVA_BYTE, 17), "field pointer: CDB byte 2 (page code)");

        Task protect = run(lc, new Task(0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0), 0);
        assertEquals(Sense.INVALID_FIELD_IN_CDB, protect.ascq(), "RDPROTECT without protection information");
    }

    @Test
    void compareAndWriteReportsTheMiscompareOffset() throws Exception {
        LunChannel lc = channel(nexusA);
        Task w = new Task(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
        w.buf.asSlice(0, 512).fill((byte) 'A');
        run(lc, w, 512);
        Task caw = new Task(0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
        caw.buf.asSlice(0, 512).fill((byte) 'A');
        caw.buf.set(JAVA_BYTE, 100, (byte) 'X');
        caw.buf.asSlice(512, 512).fill((byte) 'B');
        run(lc, caw, 1024);
        assertEquals(ScsiStatus.CHECK_CONDITION, caw.status);
        assertEquals(Sense.MISCOMPARE, caw.senseKey());
        assertEquals(100, caw.sense.get(JAVA_BYTE, 6), "INFORMATION: offset of the first difference");

        Task ok = new Task(0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
        ok.buf.asSlice(0, 512).fill((byte) 'A');
        ok.buf.asSlice(512, 512).fill((byte) 'B');
        assertEquals(ScsiStatus.GOOD, run(lc, ok, 1024).status);
        Task rd = run(lc, new Task(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), 0);
        assertEquals('B', rd.buf.get(JAVA_BYTE, 511));
    }

    @Test
    void unmappedBlocksReadAsZeroes() throws Exception {
        LunChannel lc = channel(nexusA);
        Task w = new Task(0x2a, 0, 0, 0, 0, 4, 0, 0, 4, 0);
        w.buf.asSlice(0, 2048).fill((byte) 0x5a);
        run(lc, w, 2048);
        Task unmap = new Task(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0);
        MemorySegment p = unmap.buf;
        p.asSlice(0, 24).fill((byte) 0);
        p.set(JAVA_BYTE, 1, (byte) 22);
        p.set(JAVA_BYTE, 3, (byte) 16);
        p.set(JAVA_BYTE, 15, (byte) 4);  // LBA 4
        p.set(JAVA_BYTE, 19, (byte) 4);  // 4 blocks
        assertEquals(ScsiStatus.GOOD, run(lc, unmap, 24).status);
        Task rd = run(lc, new Task(0x28, 0, 0, 0, 0, 4, 0, 0, 4, 0), 0);
        for (int i = 0; i < 2048; i++) {
            assertEquals(0, rd.buf.get(JAVA_BYTE, i));
        }
    }

    @Test
    void reservationsBlockOtherNexuses() throws Exception {
        LunChannel a = channel(nexusA), b = channel(nexusB);
        assertEquals(ScsiStatus.GOOD, run(a, new Task(0x16, 0, 0, 0, 0, 0), 0).status); // RESERVE(6)
        Task w = new Task(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
        assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(b, w, 512).status);
        assertEquals(ScsiStatus.GOOD, run(b, new Task(0x12, 0, 0, 0, 36, 0), 0).status, "INQUIRY still works");
        assertEquals(ScsiStatus.GOOD, run(a, new Task(0x17, 0, 0, 0, 0, 0), 0).status); // RELEASE(6)
        assertEquals(ScsiStatus.GOOD, run(b, new Task(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0), 512).status);
    }

    @Test
    void lunResetRaisesAUnitAttentionOnce() throws Exception {
        LunChannel a = channel(nexusA);
        lun.reset();
        Task t = run(a, new Task(0x00, 0, 0, 0, 0, 0), 0);
        assertEquals(ScsiStatus.CHECK_CONDITION, t.status);
        assertEquals(Sense.UNIT_ATTENTION, t.senseKey());
        assertEquals(Sense.BUS_DEVICE_RESET, t.ascq());
        assertEquals(ScsiStatus.GOOD, run(a, new Task(0x00, 0, 0, 0, 0, 0), 0).status);
    }
}
