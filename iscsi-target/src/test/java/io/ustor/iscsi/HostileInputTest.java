package io.ustor.iscsi;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Broken and hostile PDUs: each gets a Reject or closes that one connection; a session opened before keeps working
 * throughout, and the target serves new sessions afterwards. Ends with a fuzz run of mutated PDUs.
 */
class HostileInputTest {
    private static TestTarget target;
    private static MiniInitiator bystander;

    @BeforeAll
    static void start() throws IOException {
        target = new TestTarget(2, 131072, 512, ChapPolicy.none(), IscsiOptions.defaults(), 0);
        bystander = loggedIn(Map.of());
    }

    @AfterAll
    static void stop() throws IOException {
        if (bystander != null) {
            bystander.close();
        }
        if (target != null) {
            target.close();
        }
    }

    static MiniInitiator loggedIn(Map<String, String> ops) throws IOException {
        MiniInitiator m = new MiniInitiator(target.address);
        int[] status = new int[1];
        m.login(TestTarget.IQN, ops, status);
        assertEquals(0, status[0], "login status");
        return m;
    }

    /** The session opened at the start still does I/O. */
    static void bystanderStillWorks() throws IOException {
        byte[] data = new byte[4096];
        new Random(7).nextBytes(data);
        assertEquals(0, bystander.write(100, data, 512));
        assertArrayEquals(data, bystander.read(100, 8, 512));
    }

    @Test
    void garbageBeforeLoginClosesOnlyThatConnection() throws IOException {
        try (MiniInitiator m = new MiniInitiator(target.address)) {
            byte[] junk = new byte[48];
            Arrays.fill(junk, (byte) 0x3e);
            m.sendRaw(junk);
            assertTrue(m.closedByTarget());
        }
        bystanderStillWorks();
    }

    @Test
    void unknownOpcodeIsRejectedAndTheSessionGoesOn() throws IOException {
        try (MiniInitiator m = loggedIn(Map.of())) {
            byte[] h = MiniInitiator.header(0x1f, 0x80);
            m.send(h, null);
            MiniInitiator.Pdu p = m.read();
            assertEquals(0x3f, p.opcode(), "Reject");
            assertEquals(0x05, p.u8(2), "reason: command not supported");
            assertEquals(48, p.data().length, "carries the rejected header");
            assertEquals(0x1f, p.data()[0] & 0x3f);
            assertArrayEquals("ping".getBytes(), m.ping("ping".getBytes()));
        }
        bystanderStillWorks();
    }

    @Test
    void dataSegmentLargerThanNegotiatedClosesTheConnection() throws IOException {
        try (MiniInitiator m = loggedIn(Map.of())) {
            byte[] h = m.command(0x20, 1 << 20, MiniInitiator.rw10(0x2a, 0, 2048));
            m.send(h, new byte[m.targetMaxRecv + 4096]);
            assertTrue(m.closedByTarget());
        }
        bystanderStillWorks();
    }

    @Test
    void immediateDataBeyondTheExpectedLengthIsRejected() throws IOException {
        try (MiniInitiator m = loggedIn(Map.of())) {
            byte[] h = m.command(0x20, 512, MiniInitiator.rw10(0x2a, 0, 1));
            m.send(h, new byte[1024]);
            MiniInitiator.Pdu p = m.read();
            assertEquals(0x3f, p.opcode());
            assertEquals(0x04, p.u8(2), "protocol error");
            assertArrayEquals(new byte[]{1}, m.ping(new byte[]{1}));
        }
    }

    @Test
    void wrongHeaderDigestClosesAndWrongDataDigestIsRejected() throws IOException {
        try (MiniInitiator m = loggedIn(Map.of("HeaderDigest", "CRC32C", "DataDigest", "CRC32C"))) {
            assertTrue(m.headerDigest && m.dataDigest, "both digests negotiated");
            byte[] data = new byte[1024];
            new Random(3).nextBytes(data);
            assertEquals(0, m.write(8, data, 512), "a write with both digests");
            assertArrayEquals(data, m.read(8, 2, 512));
            byte[] h = m.command(0x20, 512, MiniInitiator.rw10(0x2a, 0, 1));
            m.send(h, new byte[512], false, true);
            MiniInitiator.Pdu p = m.read();
            assertEquals(0x3f, p.opcode());
            assertEquals(0x02, p.u8(2), "data digest error");
            MiniInitiator.Pdu resp = m.read();
            assertEquals(0x21, resp.opcode(), "the command ends with a SCSI Response");
            assertEquals(0x02, resp.u8(3), "CHECK CONDITION");
            m.send(MiniInitiator.header(0x00 | 0x40, 0x80), null, true, false);
            assertTrue(m.closedByTarget(), "a header digest error ends the connection");
        }
        bystanderStillWorks();
    }

    @Test
    void commandOutsideTheCmdSnWindowIsIgnored() throws IOException {
        try (MiniInitiator m = loggedIn(Map.of())) {
            int saved = m.cmdSn;
            m.cmdSn = m.maxCmdSn + 5;
            byte[] h = m.command(0, 0, new byte[]{0, 0, 0, 0, 0, 0}); // TEST UNIT READY, CmdSN too high
            m.send(h, null);
            m.cmdSn = saved;
            byte[] tur = m.command(0, 0, new byte[]{0, 0, 0, 0, 0, 0});
            m.send(tur, null);
            MiniInitiator.Pdu p = m.read();
            assertEquals(0x21, p.opcode());
            assertEquals(MiniInitiator.class.getName().length() > 0 ? tur[16] : 0, p.header()[16], "only the in-window command answered");
        }
    }

    @Test
    void halfAPduAndGoneLeavesTheTargetServing() throws IOException {
        for (int i = 0; i < 5; i++) {
            try (MiniInitiator m = loggedIn(Map.of())) {
                byte[] h = m.command(0x20, 4096, MiniInitiator.rw10(0x2a, 0, 8));
                byte[] partial = Arrays.copyOf(h, 30);
                m.sendRaw(partial);
            }
            try (MiniInitiator m = loggedIn(Map.of())) {
                byte[] h = m.command(0x20, 4096, MiniInitiator.rw10(0x2a, 0, 8));
                m.send(h, new byte[1000]); // immediate data cut short: the rest never comes
            }
        }
        bystanderStillWorks();
    }

    @Test
    void fuzzedPdusNeverHurtOtherSessions() throws IOException {
        Random rnd = new Random(20261123);
        for (int round = 0; round < 150; round++) {
            try (MiniInitiator m = loggedIn(Map.of())) {
                int kind = rnd.nextInt(4);
                byte[] h = switch (kind) {
                    case 0 -> m.command(0x20, 4096, MiniInitiator.rw10(0x2a, rnd.nextInt(1 << 17), 8));
                    case 1 -> m.command(0x40, 4096, MiniInitiator.rw10(0x28, rnd.nextInt(1 << 17), 8));
                    case 2 -> MiniInitiator.header(0x05, 0x80);
                    default -> MiniInitiator.header(rnd.nextInt(64), rnd.nextInt(256));
                };
                int flips = 1 + rnd.nextInt(6);
                for (int f = 0; f < flips; f++) {
                    h[rnd.nextInt(48)] ^= (byte) (1 << rnd.nextInt(8));
                }
                int dsl = rnd.nextInt(4) == 0 ? rnd.nextInt(9000) : 0;
                byte[] data = dsl == 0 ? null : new byte[dsl];
                if (data != null) {
                    rnd.nextBytes(data);
                }
                if (rnd.nextBoolean()) {
                    m.send(h, data);
                } else {
                    byte[] raw = Arrays.copyOf(h, 48 + (data == null ? 0 : data.length));
                    if (data != null) {
                        System.arraycopy(data, 0, raw, 48, data.length);
                    }
                    m.sendRaw(Arrays.copyOf(raw, rnd.nextInt(raw.length + 1)));
                }
                m.socket.setSoTimeout(50);
                try {
                    m.read();
                } catch (IOException expectedOrTimeout) {
                    // closed, timed out or answered: all fine
                }
            }
            if (round % 50 == 49) {
                bystanderStillWorks();
            }
        }
        bystanderStillWorks();
        try (MiniInitiator fresh = loggedIn(Map.of())) {
            assertArrayEquals(new byte[]{9}, fresh.ping(new byte[]{9}));
        }
        assertFalse(target.target.connections().isEmpty(), "the bystander is still connected");
    }
}
