package io.ustor.iscsi;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deleting a target node asks its initiators to log out (RFC 7143 11.9.1: Async Message, AsyncEvent 1, Parameter3
 * the seconds they have), over real sockets: one that logs out gets its Logout Response and the deletion completes;
 * one that ignores the request is dropped when its time is up, and the deletion still completes.
 */
class LogoutRequestTest {
    private static MiniInitiator loggedIn(TestTarget t) throws IOException {
        MiniInitiator m = new MiniInitiator(t.address);
        int[] status = new int[1];
        m.login(TestTarget.IQN, Map.of(), status);
        assertEquals(0, status[0], "login status");
        m.socket.setSoTimeout(30_000);
        return m;
    }

    /** Reads until the Async Message; returns it. */
    private static MiniInitiator.Pdu awaitAsyncMessage(MiniInitiator m) throws IOException {
        while (true) {
            MiniInitiator.Pdu p = m.read();
            if (p.opcode() == 0x32) {
                return p;
            }
        }
    }

    @Test
    void anInitiatorAskedToLogOutDoesSoAndTheDeletionCompletes() throws Exception {
        try (TestTarget t = new TestTarget(); MiniInitiator m = loggedIn(t)) {
            var deletion = t.target.deleteTargetNode(TestTarget.IQN);
            MiniInitiator.Pdu async = awaitAsyncMessage(m);
            assertEquals(1, async.u8(36), "AsyncEvent 1: the target requests a logout");
            assertEquals(0xffffffff, async.i32(16), "reserved ITT");
            int seconds = (async.u8(42) << 8) | async.u8(43);
            assertTrue(seconds > 0, "Parameter3: the time to log out in, " + seconds);

            byte[] logout = MiniInitiator.header(0x06 | 0x40, 0x80); // Logout Request, reason 0: close the session
            MiniInitiator.put32(logout, 16, 0x1234);
            MiniInitiator.put32(logout, 24, m.cmdSn);
            MiniInitiator.put32(logout, 28, async.i32(24) + 1);
            m.send(logout, null);
            MiniInitiator.Pdu r = m.read();
            assertEquals(0x26, r.opcode(), "Logout Response");
            assertEquals(0, r.u8(2), "closed successfully");
            assertEquals(async.i32(24) + 1, r.i32(24), "the Async Message took a StatSN; the response has the next");
            assertTrue(m.closedByTarget());
            deletion.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void anInitiatorThatIgnoresTheRequestIsDroppedWhenItsTimeIsUp() throws Exception {
        try (TestTarget t = new TestTarget(); MiniInitiator m = loggedIn(t)) {
            var deletion = t.target.deleteTargetNode(TestTarget.IQN);
            awaitAsyncMessage(m);
            assertTrue(m.closedByTarget(), "the connection is closed after Parameter3 seconds");
            deletion.get(30, TimeUnit.SECONDS);
        }
    }
}
