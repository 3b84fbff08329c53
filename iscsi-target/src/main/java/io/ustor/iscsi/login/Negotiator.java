package io.ustor.iscsi.login;

import java.util.HashSet;
import java.util.Set;

/**
 * Operational text negotiation (RFC 7143 sections 6.2 and 13): answers each key the initiator offers by its
 * result function (list, boolean AND/OR, numerical minimum/maximum, declarative) and records the outcome in
 * {@link SessionParams}. Security keys (AuthMethod, CHAP_*) and the login-only declaratives are handled by the
 * login state machine; this class answers the rest.
 */
public final class Negotiator {
    /** Thrown for an offer that makes negotiation fail (RFC 7143 section 6.2: reply with a login reject). */
    public static final class NegotiationException extends Exception {
        public NegotiationException(String message) {
            super(message);
        }
    }

    private final NegotiationLimits limits;
    private final SessionParams params;
    private final Set<String> seen = new HashSet<>();
    private boolean declaredMaxRecv;

    public Negotiator(NegotiationLimits limits, SessionParams params) {
        this.limits = limits;
        this.params = params;
        params.targetMaxRecvDataSegmentLength = limits.maxRecvDataSegmentLength();
    }

    public SessionParams params() {
        return params;
    }

    /**
     * Answers one operational key into {@code reply}. Returns false if the key is not an operational one (the
     * caller handles it). Out-of-range values are answered "Reject"; unknown keys "NotUnderstood".
     */
    public boolean negotiate(String key, String value, TextKeys reply, boolean loginPhase) throws NegotiationException {
        if (isSpecialValue(value) && !key.equals("SendTargets")) {
            // The initiator answers one of our offers with Reject/Irrelevant/NotUnderstood: nothing to reply.
            return isOperational(key);
        }
        switch (key) {
            case "HeaderDigest" -> {
                String r = chooseDigest(value, limits.allowHeaderDigest());
                reply.add(key, r);
                params.headerDigest = r.equals("CRC32C");
            }
            case "DataDigest" -> {
                String r = chooseDigest(value, limits.allowDataDigest());
                reply.add(key, r);
                params.dataDigest = r.equals("CRC32C");
            }
            case "MaxRecvDataSegmentLength" -> {
                Integer v = number(value, 512, 16777215);
                if (v == null) {
                    reply.add(key, "Reject");
                } else {
                    params.initiatorMaxRecvDataSegmentLength = v;
                }
                declareMaxRecv(reply);
            }
            case "MaxBurstLength" -> numeric(key, value, 512, 16777215, limits.maxBurstLength(), false, reply,
                    v -> params.maxBurstLength = v);
            case "FirstBurstLength" -> numeric(key, value, 512, 16777215, limits.firstBurstLength(), false, reply,
                    v -> params.firstBurstLength = v);
            case "MaxOutstandingR2T" -> numeric(key, value, 1, 65535, limits.maxOutstandingR2T(), false, reply,
                    v -> params.maxOutstandingR2T = v);
            case "MaxConnections" -> numeric(key, value, 1, 65535, limits.maxConnections(), false, reply,
                    v -> params.maxConnections = v);
            case "DefaultTime2Wait" -> numeric(key, value, 0, 3600, limits.defaultTime2Wait(), true, reply,
                    v -> params.defaultTime2Wait = v);
            case "DefaultTime2Retain" -> numeric(key, value, 0, 3600, limits.defaultTime2Retain(), false, reply,
                    v -> params.defaultTime2Retain = v);
            case "ErrorRecoveryLevel" -> numeric(key, value, 0, 2, limits.errorRecoveryLevel(), false, reply,
                    v -> params.errorRecoveryLevel = v);
            case "InitialR2T" -> bool(key, value, limits.initialR2T(), true, reply, b -> params.initialR2T = b);
            case "ImmediateData" -> bool(key, value, limits.immediateData(), false, reply, b -> params.immediateData = b);
            case "DataPDUInOrder" -> bool(key, value, true, true, reply, b -> params.dataPduInOrder = b);
            case "DataSequenceInOrder" -> bool(key, value, true, true, reply, b -> params.dataSequenceInOrder = b);
            case "IFMarker", "OFMarker" -> bool(key, value, false, false, reply, b -> { });
            case "IFMarkInt", "OFMarkInt" -> reply.add(key, "Irrelevant");
            case "TaskReporting" -> reply.add(key, "RFC3720");
            case "iSCSIProtocolLevel" -> numeric(key, value, 0, 31, 1, false, reply, v -> { });
            default -> {
                return false;
            }
        }
        if (!seen.add(key)) {
            throw new NegotiationException("key " + key + " offered twice");
        }
        return true;
    }

    /** Adds our MaxRecvDataSegmentLength declaration once (the initiator needs it before Full Feature Phase). */
    public void declareMaxRecv(TextKeys reply) {
        if (!declaredMaxRecv) {
            declaredMaxRecv = true;
            reply.add("MaxRecvDataSegmentLength", Integer.toString(limits.maxRecvDataSegmentLength()));
        }
    }

    /** After negotiation: FirstBurstLength may not exceed MaxBurstLength (RFC 7143 section 13.14). */
    public void finish() {
        if (params.firstBurstLength > params.maxBurstLength) {
            params.firstBurstLength = params.maxBurstLength;
        }
    }

    static boolean isOperational(String key) {
        return switch (key) {
            case "HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength",
                 "MaxOutstandingR2T", "MaxConnections", "DefaultTime2Wait", "DefaultTime2Retain",
                 "ErrorRecoveryLevel", "InitialR2T", "ImmediateData", "DataPDUInOrder", "DataSequenceInOrder",
                 "IFMarker", "OFMarker", "IFMarkInt", "OFMarkInt", "TaskReporting", "iSCSIProtocolLevel" -> true;
            default -> false;
        };
    }

    static boolean isSpecialValue(String v) {
        return v.equals("Reject") || v.equals("Irrelevant") || v.equals("NotUnderstood");
    }

    private static String chooseDigest(String offered, boolean allowCrc) {
        for (String s : offered.split(",")) {
            String v = s.trim();
            if (v.equals("CRC32C") && allowCrc) {
                return "CRC32C";
            }
            if (v.equals("None")) {
                return "None";
            }
        }
        return "Reject";
    }

    private interface IntSink {
        void set(int v);
    }

    private interface BoolSink {
        void set(boolean v);
    }

    private void numeric(String key, String value, int min, int max, int ours, boolean takeMax, TextKeys reply,
                         IntSink sink) {
        Integer v = number(value, min, max);
        if (v == null) {
            reply.add(key, "Reject");
            return;
        }
        int result = takeMax ? Math.max(v, ours) : Math.min(v, ours);
        sink.set(result);
        reply.add(key, Integer.toString(result));
    }

    private void bool(String key, String value, boolean ours, boolean or, TextKeys reply, BoolSink sink) {
        boolean theirs;
        if (value.equals("Yes")) {
            theirs = true;
        } else if (value.equals("No")) {
            theirs = false;
        } else {
            reply.add(key, "Reject");
            return;
        }
        boolean result = or ? theirs || ours : theirs && ours;
        sink.set(result);
        reply.add(key, SessionParams.yn(result));
    }

    /** A decimal or 0x-hex number within [min, max], or null. */
    static Integer number(String value, int min, int max) {
        try {
            long v = value.startsWith("0x") || value.startsWith("0X") ? Long.parseLong(value.substring(2), 16)
                    : Long.parseLong(value);
            return v < min || v > max ? null : (int) v;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
