package io.ustor.iscsi;

import io.ustor.iscsi.login.NegotiationLimits;

/**
 * Target-wide iSCSI options (SPDK's iscsi_set_options). Values are the target's side of negotiation.
 *
 * @param nodeBase                 prefix for target names given without one ("iqn.2016-06.io.spdk" in SPDK)
 * @param maxSessions              sessions allowed at once
 * @param maxConnectionsPerSession offered MaxConnections (this target runs one connection per session)
 * @param maxQueueDepth            commands in flight per session (bounds MaxCmdSN)
 * @param defaultTime2Wait         offered DefaultTime2Wait
 * @param defaultTime2Retain       offered DefaultTime2Retain
 * @param firstBurstLength         offered FirstBurstLength
 * @param maxBurstLength           offered MaxBurstLength
 * @param maxRecvDataSegmentLength our MaxRecvDataSegmentLength
 * @param immediateData            offered ImmediateData
 * @param initialR2T               offered InitialR2T (No lets initiators send unsolicited Data-Out)
 * @param maxR2tPerConnection      offered MaxOutstandingR2T
 * @param errorRecoveryLevel       offered ErrorRecoveryLevel (0 is what the target implements)
 * @param allowDuplicatedIsid      allow two sessions with the same ISID and initiator name (else reinstate)
 * @param disableChap              discovery: no CHAP
 * @param requireChap              discovery: CHAP required
 * @param mutualChap               discovery: mutual CHAP required
 * @param chapGroup                discovery: auth group tag (0 = none)
 * @param nopInInterval            seconds between NOP-In pings on an idle connection (0 = never)
 */
public record IscsiOptions(String nodeBase, int maxSessions, int maxConnectionsPerSession, int maxQueueDepth,
                           int defaultTime2Wait, int defaultTime2Retain, int firstBurstLength, int maxBurstLength,
                           int maxRecvDataSegmentLength, boolean immediateData, boolean initialR2T,
                           int maxR2tPerConnection, int errorRecoveryLevel, boolean allowDuplicatedIsid,
                           boolean disableChap, boolean requireChap, boolean mutualChap, int chapGroup,
                           int nopInInterval) {
    public IscsiOptions {
        if (maxQueueDepth < 1 || maxQueueDepth > 4096) {
            throw new IllegalArgumentException("max_queue_depth " + maxQueueDepth + " outside 1..4096");
        }
        if (firstBurstLength < 512 || firstBurstLength > maxBurstLength) {
            throw new IllegalArgumentException("first_burst_length " + firstBurstLength + " outside 512..max_burst_length");
        }
        if (maxRecvDataSegmentLength < 512 || maxRecvDataSegmentLength > (1 << 24) - 1) {
            throw new IllegalArgumentException("max_recv_data_segment_length " + maxRecvDataSegmentLength);
        }
        if (errorRecoveryLevel != 0) {
            throw new IllegalArgumentException("error_recovery_level " + errorRecoveryLevel + ": only 0 is implemented");
        }
        if (requireChap && disableChap) {
            throw new IllegalArgumentException("require_chap and disable_chap are exclusive");
        }
    }

    public static IscsiOptions defaults() {
        return new IscsiOptions("iqn.2016-06.io.spdk", 128, 2, 64, 2, 20, 65536, 1 << 20, 65536, true, true, 4,
                0, false, false, false, false, 0, 30);
    }

    public IscsiOptions withMaxQueueDepth(int v) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, v, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                initialR2T, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disableChap, requireChap,
                mutualChap, chapGroup, nopInInterval);
    }

    public IscsiOptions withInitialR2T(boolean v) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, maxQueueDepth, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                v, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disableChap, requireChap,
                mutualChap, chapGroup, nopInInterval);
    }

    public IscsiOptions withDiscoveryAuth(boolean disable, boolean require, boolean mutual, int group) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, maxQueueDepth, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                initialR2T, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disable, require,
                mutual, group, nopInInterval);
    }

    /** Our side of operational negotiation. */
    public NegotiationLimits negotiationLimits() {
        return new NegotiationLimits(maxRecvDataSegmentLength, maxBurstLength, firstBurstLength, initialR2T,
                immediateData, maxR2tPerConnection, errorRecoveryLevel, defaultTime2Wait, defaultTime2Retain,
                1, true, true);
    }
}
