package io.ustor.iscsi.login;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 7143 section 13 result functions. */
class NegotiatorTest {
    private final SessionParams params = new SessionParams();
    private final Negotiator n = new Negotiator(
            new NegotiationLimits(65536, 262144, 65536, true, true, 4, 0, 2, 20, 1, true, true), params);

    private String answer(String key, String value) throws Exception {
        TextKeys reply = new TextKeys();
        assertTrue(n.negotiate(key, value, reply, true), key + " is operational");
        return reply.get(key);
    }

    @Test
    void numericalMinimumAndMaximum() throws Exception {
        assertEquals("262144", answer("MaxBurstLength", "16776192"));
        assertEquals(262144, params.maxBurstLength);
        assertEquals("512", answer("FirstBurstLength", "512"));
        assertEquals("4", answer("MaxOutstandingR2T", "16"));
        assertEquals("1", answer("MaxConnections", "8"));
        assertEquals("20", answer("DefaultTime2Retain", "3600"));
        assertEquals("5", answer("DefaultTime2Wait", "5"), "DefaultTime2Wait is a maximum");
        assertEquals("0", answer("ErrorRecoveryLevel", "2"));
    }

    @Test
    void booleanAndOr() throws Exception {
        assertEquals("Yes", answer("InitialR2T", "No"), "InitialR2T is OR: we say Yes");
        assertTrue(params.initialR2T);
        assertEquals("No", answer("ImmediateData", "No"), "ImmediateData is AND");
        assertFalse(params.immediateData);
        assertEquals("Yes", answer("DataPDUInOrder", "No"));
        assertEquals("No", answer("IFMarker", "Yes"));
    }

    @Test
    void listsPickTheFirstAcceptable() throws Exception {
        assertEquals("CRC32C", answer("HeaderDigest", "CRC32C,None"));
        assertTrue(params.headerDigest);
        assertEquals("None", answer("DataDigest", "None,CRC32C"));
        assertFalse(params.dataDigest);
    }

    @Test
    void declarativeMaxRecvDataSegmentLength() throws Exception {
        TextKeys reply = new TextKeys();
        n.negotiate("MaxRecvDataSegmentLength", "262144", reply, true);
        assertEquals(262144, params.initiatorMaxRecvDataSegmentLength);
        assertEquals("65536", reply.get("MaxRecvDataSegmentLength"), "we declare ours");
        n.declareMaxRecv(reply);
        assertEquals(1, reply.size(), "declared once");
    }

    @Test
    void outOfRangeAndGarbageAreRejected() throws Exception {
        assertEquals("Reject", answer("MaxBurstLength", "100"));
        assertEquals("Reject", answer("InitialR2T", "Maybe"));
        assertEquals("Reject", answer("HeaderDigest", "MD5"));
        assertEquals("Reject", answer("MaxConnections", "0x"));
    }

    @Test
    void unknownKeysAreLeftToTheCallerAndDuplicatesFail() throws Exception {
        assertFalse(n.negotiate("X-com.example.Foo", "1", new TextKeys(), true));
        answer("MaxBurstLength", "4096");
        assertThrows(Negotiator.NegotiationException.class, () -> answer("MaxBurstLength", "4096"));
    }

    @Test
    void firstBurstIsCappedByMaxBurst() throws Exception {
        answer("MaxBurstLength", "4096");
        answer("FirstBurstLength", "65536");
        n.finish();
        assertEquals(4096, params.firstBurstLength);
    }
}
