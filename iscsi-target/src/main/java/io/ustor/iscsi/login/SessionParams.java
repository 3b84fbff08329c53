package io.ustor.iscsi.login;

/**
 * The operational parameters of one session and its connection, as negotiated (RFC 7143 section 13), starting at
 * the RFC defaults. Written during login on the connection's reactor, read by it afterwards.
 */
public final class SessionParams {
    public boolean headerDigest, dataDigest;
    /** What the initiator can receive in one PDU: bounds the Data-In and text PDUs we send. */
    public int initiatorMaxRecvDataSegmentLength = 8192;
    /** What we declared we can receive in one PDU: bounds the PDUs the initiator sends. */
    public int targetMaxRecvDataSegmentLength = 8192;
    public int maxBurstLength = 262144, firstBurstLength = 65536;
    public boolean initialR2T = true, immediateData = true, dataPduInOrder = true, dataSequenceInOrder = true;
    public int maxOutstandingR2T = 1, errorRecoveryLevel = 0, defaultTime2Wait = 2, defaultTime2Retain = 20,
            maxConnections = 1;
    public boolean discovery;
    public String sessionType = "Normal", initiatorName, initiatorAlias, targetName;

    @Override
    public String toString() {
        return "HeaderDigest=" + (headerDigest ? "CRC32C" : "None") + " DataDigest=" + (dataDigest ? "CRC32C" : "None")
                + " MaxRecvDataSegmentLength=" + initiatorMaxRecvDataSegmentLength + "/" + targetMaxRecvDataSegmentLength
                + " MaxBurstLength=" + maxBurstLength + " FirstBurstLength=" + firstBurstLength
                + " InitialR2T=" + yn(initialR2T) + " ImmediateData=" + yn(immediateData)
                + " MaxOutstandingR2T=" + maxOutstandingR2T + " ErrorRecoveryLevel=" + errorRecoveryLevel;
    }

    static String yn(boolean b) {
        return b ? "Yes" : "No";
    }
}
