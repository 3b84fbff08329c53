package io.ustor.iscsi.login;

/**
 * What the target offers in operational negotiation: its own bounds for the numeric keys and its answers for the
 * boolean ones (taken from the target's options).
 */
public record NegotiationLimits(int maxRecvDataSegmentLength, int maxBurstLength, int firstBurstLength,
                                boolean initialR2T, boolean immediateData, int maxOutstandingR2T,
                                int errorRecoveryLevel, int defaultTime2Wait, int defaultTime2Retain,
                                int maxConnections, boolean allowHeaderDigest, boolean allowDataDigest) {
    public static NegotiationLimits defaults() {
        return new NegotiationLimits(65536, 262144, 65536, true, true, 16, 0, 2, 20, 1, true, true);
    }
}
