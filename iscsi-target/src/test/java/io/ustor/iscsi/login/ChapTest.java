package io.ustor.iscsi.login;

import io.ustor.iscsi.ChapSecret;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChapTest {
    private static final ChapSecret SECRET = new ChapSecret("user", "secretsecret1", "tuser", "tsecretsecret2");

    @Test
    void md5ResponseMatchesAnIndependentComputation() {
        // Expected values from Python's hashlib.md5(bytes([id]) + secret + challenge).
        byte[] challenge = new byte[16];
        for (int i = 0; i < 16; i++) {
            challenge[i] = (byte) i;
        }
        assertEquals("71133038ef3394e5d0284e40a4a27ea2",
                HexFormat.of().formatHex(Chap.response(1, "secretsecret1", challenge)));
        byte[] deadbeef = HexFormat.of().parseHex("deadbeefdeadbeefdeadbeefdeadbeef");
        assertEquals("67a56a0fc3c771fe7b88fd2c33212772",
                HexFormat.of().formatHex(Chap.response(0xa5, "tsecretsecret2", deadbeef)));
    }

    @Test
    void binaryValuesDecodeFromHexAndBase64() {
        assertArrayEquals(new byte[]{1, 2, (byte) 0xff}, Chap.decode("0x0102ff"));
        assertArrayEquals(new byte[]{1, 2, (byte) 0xff}, Chap.decode("0bAQL/"));
        assertArrayEquals(new byte[]{0x0a}, Chap.decode("0xa"));
        assertThrows(IllegalArgumentException.class, () -> Chap.decode("1234"));
    }

    /** Runs the first round; returns our identifier and challenge. */
    private static Object[] challenge(ChapState s) {
        TextKeys reply = new TextKeys();
        assertEquals(ChapState.Result.CONTINUE, s.step(new TextKeys().add("CHAP_A", "7,5"), reply));
        assertEquals("5", reply.get("CHAP_A"));
        return new Object[]{Integer.parseInt(reply.get("CHAP_I")), Chap.decode(reply.get("CHAP_C"))};
    }

    @Test
    void rightSecretLogsIn() {
        ChapState s = new ChapState(u -> u.equals("user") ? SECRET : null, false);
        Object[] c = challenge(s);
        byte[] r = Chap.response((Integer) c[0], "secretsecret1", (byte[]) c[1]);
        TextKeys reply = new TextKeys();
        assertEquals(ChapState.Result.DONE,
                s.step(new TextKeys().add("CHAP_N", "user").add("CHAP_R", Chap.encodeHex(r)), reply));
        assertTrue(s.done());
        assertEquals(0, reply.size());
    }

    @Test
    void wrongSecretOrUnknownUserFails() {
        ChapState s = new ChapState(u -> u.equals("user") ? SECRET : null, false);
        Object[] c = challenge(s);
        byte[] r = Chap.response((Integer) c[0], "wrong", (byte[]) c[1]);
        assertEquals(ChapState.Result.FAILED,
                s.step(new TextKeys().add("CHAP_N", "user").add("CHAP_R", Chap.encodeHex(r)), new TextKeys()));
        ChapState s2 = new ChapState(u -> null, false);
        challenge(s2);
        assertEquals(ChapState.Result.FAILED,
                s2.step(new TextKeys().add("CHAP_N", "nobody").add("CHAP_R", "0x00"), new TextKeys()));
        ChapState s3 = new ChapState(u -> SECRET, false);
        assertEquals(ChapState.Result.FAILED, s3.step(new TextKeys().add("CHAP_A", "6"), new TextKeys()),
                "no MD5 offered");
    }

    @Test
    void mutualChapAnswersTheInitiatorsChallenge() {
        ChapState s = new ChapState(u -> SECRET, true);
        Object[] c = challenge(s);
        byte[] r = Chap.response((Integer) c[0], "secretsecret1", (byte[]) c[1]);
        byte[] mine = HexFormat.of().parseHex("deadbeefdeadbeefdeadbeefdeadbeef");
        TextKeys reply = new TextKeys();
        assertEquals(ChapState.Result.DONE, s.step(new TextKeys().add("CHAP_N", "user")
                .add("CHAP_R", Chap.encodeHex(r)).add("CHAP_I", "165").add("CHAP_C", Chap.encodeHex(mine)), reply));
        assertEquals("tuser", reply.get("CHAP_N"));
        assertEquals("0x67a56a0fc3c771fe7b88fd2c33212772", reply.get("CHAP_R"));
    }

    @Test
    void mutualRequiredButNotAskedFailsAndReflectionIsRefused() {
        ChapState s = new ChapState(u -> SECRET, true);
        Object[] c = challenge(s);
        byte[] r = Chap.response((Integer) c[0], "secretsecret1", (byte[]) c[1]);
        assertEquals(ChapState.Result.FAILED,
                s.step(new TextKeys().add("CHAP_N", "user").add("CHAP_R", Chap.encodeHex(r)), new TextKeys()));
        ChapState s2 = new ChapState(u -> SECRET, false);
        Object[] c2 = challenge(s2);
        byte[] r2 = Chap.response((Integer) c2[0], "secretsecret1", (byte[]) c2[1]);
        assertEquals(ChapState.Result.FAILED, s2.step(new TextKeys().add("CHAP_N", "user")
                .add("CHAP_R", Chap.encodeHex(r2)).add("CHAP_I", "1").add("CHAP_C", Chap.encodeHex((byte[]) c2[1])),
                new TextKeys()), "our own challenge sent back");
        assertNotNull(s2.failure());
    }
}
