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
 * @param nopInInterval            seconds a Full Feature connection may stay silent before a NOP-In ping (0 = never)
 * @param nopTimeout               seconds to wait for the NOP-Out answering a ping before the connection is dropped
 * @param loginTimeout             seconds a connection may take to reach Full Feature Phase before it is closed
 *                                 (0 = no limit; ustor's own option: SPDK has no login timer)
 */
public record IscsiOptions(String nodeBase, int maxSessions, int maxConnectionsPerSession, int maxQueueDepth,
                           int defaultTime2Wait, int defaultTime2Retain, int firstBurstLength, int maxBurstLength,
                           int maxRecvDataSegmentLength, boolean immediateData, boolean initialR2T,
                           int maxR2tPerConnection, int errorRecoveryLevel, boolean allowDuplicatedIsid,
                           boolean disableChap, boolean requireChap, boolean mutualChap, int chapGroup,
                           int nopInInterval, int nopTimeout, int loginTimeout) {
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
        if (nopInInterval < 0 || nopInInterval > MAX_NOP_IN_INTERVAL) {
            throw new IllegalArgumentException("nop_in_interval " + nopInInterval + " outside 0.."
                    + MAX_NOP_IN_INTERVAL);
        }
        if (nopTimeout < 1 || nopTimeout > MAX_NOP_TIMEOUT) {
            throw new IllegalArgumentException("nop_timeout " + nopTimeout + " outside 1.." + MAX_NOP_TIMEOUT);
        }
        if (loginTimeout < 0 || loginTimeout > MAX_LOGIN_TIMEOUT) {
            throw new IllegalArgumentException("login_timeout " + loginTimeout + " outside 0.." + MAX_LOGIN_TIMEOUT);
        }
        if (requireChap && disableChap) {
            throw new IllegalArgumentException("require_chap and disable_chap are exclusive");
        }
    }

    /** SPDK's bounds and defaults (MAX_NOPININTERVAL 60, DEFAULT_NOPININTERVAL 30, DEFAULT_TIMEOUT 60). */
    public static final int MAX_NOP_IN_INTERVAL = 60, DEFAULT_NOP_IN_INTERVAL = 30, MAX_NOP_TIMEOUT = 3600,
            DEFAULT_NOP_TIMEOUT = 60, MAX_LOGIN_TIMEOUT = 3600, DEFAULT_LOGIN_TIMEOUT = 30;

    public static IscsiOptions defaults() {
        return new IscsiOptions("iqn.2016-06.io.spdk", 128, 2, 64, 2, 20, 65536, 1 << 20, 65536, true, true, 4,
                0, false, false, false, false, 0, DEFAULT_NOP_IN_INTERVAL, DEFAULT_NOP_TIMEOUT, DEFAULT_LOGIN_TIMEOUT);
    }

    public IscsiOptions withMaxQueueDepth(int v) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, v, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                initialR2T, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disableChap, requireChap,
                mutualChap, chapGroup, nopInInterval, nopTimeout, loginTimeout);
    }

    public IscsiOptions withInitialR2T(boolean v) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, maxQueueDepth, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                v, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disableChap, requireChap,
                mutualChap, chapGroup, nopInInterval, nopTimeout, loginTimeout);
    }

    public IscsiOptions withDiscoveryAuth(boolean disable, boolean require, boolean mutual, int group) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, maxQueueDepth, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                initialR2T, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disable, require,
                mutual, group, nopInInterval, nopTimeout, loginTimeout);
    }

    /** NOP-In ping interval, answer timeout and login timeout, in seconds (see the record's parameters). */
    public IscsiOptions withTimers(int nopInIntervalSeconds, int nopTimeoutSeconds, int loginTimeoutSeconds) {
        return new IscsiOptions(nodeBase, maxSessions, maxConnectionsPerSession, maxQueueDepth, defaultTime2Wait,
                defaultTime2Retain, firstBurstLength, maxBurstLength, maxRecvDataSegmentLength, immediateData,
                initialR2T, maxR2tPerConnection, errorRecoveryLevel, allowDuplicatedIsid, disableChap, requireChap,
                mutualChap, chapGroup, nopInIntervalSeconds, nopTimeoutSeconds, loginTimeoutSeconds);
    }

    /** Our side of operational negotiation. */
    public NegotiationLimits negotiationLimits() {
        return new NegotiationLimits(maxRecvDataSegmentLength, maxBurstLength, firstBurstLength, initialR2T,
                immediateData, maxR2tPerConnection, errorRecoveryLevel, defaultTime2Wait, defaultTime2Retain,
                1, true, true);
    }
}
