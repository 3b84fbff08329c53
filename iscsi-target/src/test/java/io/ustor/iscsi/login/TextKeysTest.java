package io.ustor.iscsi.login;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TextKeysTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void parsesNulSeparatedPairsInOrder() {
        byte[] d = b("InitiatorName=iqn.x\0SessionType=Normal\0HeaderDigest=None,CRC32C\0");
        TextKeys k = TextKeys.parse(d, d.length);
        assertEquals(3, k.size());
        assertEquals("iqn.x", k.get("InitiatorName"));
        assertEquals("None,CRC32C", k.value(2));
        assertNull(k.get("TargetName"));
        assertArrayEquals(d, k.encode());
    }

    @Test
    void valueMayContainEqualsAndBeEmpty() {
        byte[] d = b("SendTargets=\0X=a=b\0");
        TextKeys k = TextKeys.parse(d, d.length);
        assertEquals("", k.get("SendTargets"));
        assertEquals("a=b", k.get("X"));
    }

    @Test
    void malformedPairsAreRefused() {
        byte[] noEq = b("JustAKey\0");
        assertThrows(IllegalArgumentException.class, () -> TextKeys.parse(noEq, noEq.length));
        byte[] emptyKey = b("=v\0");
        assertThrows(IllegalArgumentException.class, () -> TextKeys.parse(emptyKey, emptyKey.length));
        byte[] longKey = b("K".repeat(64) + "=v\0");
        assertThrows(IllegalArgumentException.class, () -> TextKeys.parse(longKey, longKey.length));
    }

    @Test
    void lastPairWithoutNulIsAccepted() {
        byte[] d = b("A=1\0B=2");
        assertEquals("2", TextKeys.parse(d, d.length).get("B"));
    }
}
