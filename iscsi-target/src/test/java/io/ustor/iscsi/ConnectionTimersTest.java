package io.ustor.iscsi;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The connection timers over real sockets, with short intervals (nop_in_interval 1 s, nop_timeout 2 s,
 * login_timeout 2 s): an idle session is pinged with NOP-In and dropped when it does not answer, kept when it does;
 * a connection that does not finish its login is closed. Bounds are generous; nothing is timed.
 */
class ConnectionTimersTest {
    /** How long a test waits for something that should happen within a few seconds. */
    private static final int GENEROUS_MS = 30_000;
    private static TestTarget target;

    @BeforeAll
    static void start() {
        target = new TestTarget(2, 16384, 512, ChapPolicy.none(), IscsiOptions.defaults().withTimers(1, 2, 2), 0);
    }

    @AfterAll
    static void stop() {
        if (target != null) {
            target.close();
        }
    }

    private static MiniInitiator loggedIn() throws IOException {
        MiniInitiator m = new MiniInitiator(target.address);
        int[] status = new int[1];
        m.login(TestTarget.IQN, Map.of(), status);
        assertEquals(0, status[0], "login status");
        m.socket.setSoTimeout(GENEROUS_MS);
        return m;
    }

    /** A target-initiated ping: NOP-In with the reserved ITT and a Target Transfer Tag that asks for an answer. */
    private static boolean isPing(MiniInitiator.Pdu p) {
        return p.opcode() == 0x20 && p.i32(16) == 0xffffffff && p.i32(20) != 0xffffffff;
    }

    @Test
    void aSessionThatNeverAnswersIsDropped() throws IOException {
        try (MiniInitiator m = loggedIn()) {
            int pings = 0;
            try {
                while (true) {
                    MiniInitiator.Pdu p = m.read(); // never answered
                    if (isPing(p)) {
                        pings++;
                    }
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the silent session was not dropped within " + GENEROUS_MS + " ms", e);
            } catch (IOException e) {
                // EOF or reset: dropped
            }
            assertEquals(1, pings, "one ping, then the connection is dropped for want of an answer");
        }
    }

    @Test
    void aSessionThatAnswersStays() throws IOException {
        try (MiniInitiator m = loggedIn()) {
            int answered = 0;
            while (answered < 3) {
                MiniInitiator.Pdu p = m.read();
                assertTrue(isPing(p), "only pings arrive on an idle session: opcode " + p.opcode());
                assertEquals(0, p.header()[5] | p.header()[6] | p.header()[7], "a ping has no data");
                // NOP-Out answer (RFC 7143 11.18): reserved ITT, the ping's TTT and LUN, immediate, CmdSN unchanged.
                byte[] h = MiniInitiator.header(0x00 | 0x40, 0x80);
                System.arraycopy(p.header(), 8, h, 8, 8);
                MiniInitiator.put32(h, 16, 0xffffffff);
                MiniInitiator.put32(h, 20, p.i32(20));
                MiniInitiator.put32(h, 24, m.cmdSn);
                MiniInitiator.put32(h, 28, m.expStatSn);
                m.send(h, null);
                answered++;
            }
            // Still alive and serving: the answers were taken.
            assertArrayEquals("alive".getBytes(), m.ping("alive".getBytes()));
            byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte) 0x33);
            assertEquals(0, m.write(0, data, 512));
            assertArrayEquals(data, m.read(0, 8, 512));
        }
    }

    @Test
    void aConnectionThatNeverLogsInIsClosed() throws IOException {
        try (Socket s = new Socket()) {
            s.connect(target.address, 5000);
            s.setSoTimeout(GENEROUS_MS);
            assertEquals(-1, s.getInputStream().read(), "closed by the target, nothing sent");
        }
    }

    @Test
    void aHalfDoneLoginIsClosed() throws IOException {
        try (MiniInitiator m = new MiniInitiator(target.address)) {
            // Security stage only (T=0: no transition): the login never reaches Full Feature Phase.
            byte[] h = MiniInitiator.header(0x03 | 0x40, 0);
            h[8] = 0x40;
            h[13] = 0x7b;
            MiniInitiator.put32(h, 16, m.itt++);
            m.send(h, MiniInitiator.keys(Map.of("InitiatorName", "iqn.2024-01.test:half",
                    "TargetName", TestTarget.IQN, "SessionType", "Normal", "AuthMethod", "None")));
            MiniInitiator.Pdu r = m.read();
            assertEquals(0x23, r.opcode(), "Login Response");
            assertEquals(0, r.u8(36), "status class: success so far");
            m.socket.setSoTimeout(GENEROUS_MS);
            try {
                MiniInitiator.Pdu p = m.read();
                throw new AssertionError("unexpected PDU while logging in: opcode " + p.opcode());
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the half-done login was not closed within " + GENEROUS_MS + " ms", e);
            } catch (IOException e) {
                // EOF or reset: closed
            }
        }
    }

    @Test
    void aDiscoverySessionIsNotPinged() throws IOException {
        try (MiniInitiator m = new MiniInitiator(target.address)) {
            int[] status = new int[1];
            m.login(null, Map.of(), status);
            assertEquals(0, status[0]);
            // Three ping intervals and more: nothing arrives, the session stays.
            m.socket.setSoTimeout(3_500);
            try {
                MiniInitiator.Pdu p = m.read();
                throw new AssertionError("a discovery session got opcode " + p.opcode());
            } catch (SocketTimeoutException expected) {
                // nothing sent
            }
            m.socket.setSoTimeout(GENEROUS_MS);
            assertArrayEquals("x".getBytes(), m.ping("x".getBytes()));
        }
    }
}
