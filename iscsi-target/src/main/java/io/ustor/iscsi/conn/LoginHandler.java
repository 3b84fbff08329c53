package io.ustor.iscsi.conn;

import io.ustor.iscsi.AuthGroup;
import io.ustor.iscsi.ChapPolicy;
import io.ustor.iscsi.ChapSecret;
import io.ustor.iscsi.InitiatorGroup;
import io.ustor.iscsi.IscsiOptions;
import io.ustor.iscsi.PgIgMapping;
import io.ustor.iscsi.Portal;
import io.ustor.iscsi.PortalGroup;
import io.ustor.iscsi.TargetNode;
import io.ustor.iscsi.login.ChapState;
import io.ustor.iscsi.login.NegotiationLimits;
import io.ustor.iscsi.login.Negotiator;
import io.ustor.iscsi.login.SessionParams;
import io.ustor.iscsi.login.TextKeys;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The login phase of one connection (RFC 7143 sections 6.3 and 11.12-11.13): security negotiation (AuthMethod,
 * CHAP), operational negotiation, stage transitions, access control by portal group / initiator group, and
 * SendTargets answers for discovery and text requests. Control plane on the connection's reactor: allocates
 * freely.
 */
final class LoginHandler {
    static final int STAGE_SECURITY = 0, STAGE_OPERATIONAL = 1, STAGE_FULL_FEATURE = 3;
    // Status-Class / Status-Detail (RFC 7143 section 11.13.5), packed as class << 8 | detail.
    static final int SUCCESS = 0x0000, INITIATOR_ERROR = 0x0200, AUTHENTICATION_FAILED = 0x0201,
            AUTHORIZATION_FAILED = 0x0202, NOT_FOUND = 0x0203, TARGET_REMOVED = 0x0204, UNSUPPORTED_VERSION = 0x0205,
            TOO_MANY_CONNECTIONS = 0x0206, MISSING_PARAMETER = 0x0207, CANT_INCLUDE = 0x0208,
            SESSION_TYPE_UNSUPPORTED = 0x0209, SESSION_DOES_NOT_EXIST = 0x020a, INVALID_DURING_LOGIN = 0x020b,
            TARGET_ERROR = 0x0300, SERVICE_UNAVAILABLE = 0x0301, OUT_OF_RESOURCES = 0x0302;

    private final TargetContext ctx;
    private final int portalGroupTag;
    private final InetSocketAddress local, peer;
    final SessionParams params = new SessionParams();
    private Negotiator negotiator;
    private ChapState chap;
    private ChapPolicy policy;
    private boolean authDone;
    private boolean firstRequest = true;
    private boolean declaredTpgt;
    int stage = STAGE_SECURITY;
    TargetNode target;
    String failure;

    /** Outcome of the last request. */
    int status;
    boolean transit;
    int nextStage;

    LoginHandler(TargetContext ctx, int portalGroupTag, InetSocketAddress local, InetSocketAddress peer) {
        this.ctx = ctx;
        this.portalGroupTag = portalGroupTag;
        this.local = local;
        this.peer = peer;
    }

    /**
     * Handles one complete login request (after C-bit continuations are joined). Fills {@code reply}; sets
     * {@link #status}, {@link #transit}, {@link #nextStage}. Returns true when the connection enters Full Feature
     * Phase.
     */
    boolean onRequest(int csg, int nsg, boolean transitRequested, TextKeys keys, TextKeys reply) {
        status = SUCCESS;
        transit = false;
        nextStage = csg;
        if (csg == 2 || (transitRequested && (nsg == 2 || nsg <= csg))) {
            return fail(INITIATOR_ERROR, "invalid stage transition CSG " + csg + " NSG " + nsg);
        }
        if (firstRequest) {
            firstRequest = false;
            if (!begin(keys, reply)) {
                return false;
            }
        }
        stage = csg;
        if (csg == STAGE_SECURITY) {
            if (!security(keys, reply)) {
                return false;
            }
        } else {
            if (policy != null && policy.require() && !authDone) {
                return fail(AUTHENTICATION_FAILED, "CHAP required but the initiator skipped the security stage");
            }
            if (!operational(keys, reply)) {
                return false;
            }
        }
        if (transitRequested) {
            if (csg == STAGE_SECURITY && chap != null && !chap.done()) {
                // Still exchanging CHAP: stay.
                return false;
            }
            transit = true;
            nextStage = nsg;
            if (nsg == STAGE_FULL_FEATURE) {
                negotiator.declareMaxRecv(reply);
                negotiator.finish();
                if (target != null && ((target.requireHeaderDigest() && !params.headerDigest)
                        || (target.requireDataDigest() && !params.dataDigest))) {
                    reply.add("HeaderDigest", params.headerDigest ? "CRC32C" : "None");
                    return fail(INITIATOR_ERROR, "target " + target.name() + " requires CRC32C digests");
                }
                return true;
            }
        }
        return false;
    }

    private boolean begin(TextKeys keys, TextKeys reply) {
        String initiator = keys.get("InitiatorName");
        if (initiator == null || initiator.isEmpty()) {
            return fail(MISSING_PARAMETER, "no InitiatorName");
        }
        params.initiatorName = initiator;
        params.initiatorAlias = keys.get("InitiatorAlias");
        String type = keys.get("SessionType");
        if (type == null) {
            type = "Normal";
        }
        if (!type.equals("Normal") && !type.equals("Discovery")) {
            return fail(SESSION_TYPE_UNSUPPORTED, "SessionType " + type);
        }
        params.sessionType = type;
        params.discovery = type.equals("Discovery");
        IscsiOptions o = ctx.options();
        NegotiationLimits limits = o.negotiationLimits();
        negotiator = new Negotiator(limits, params);
        if (params.discovery) {
            policy = new ChapPolicy(o.disableChap(), o.requireChap(), o.mutualChap() && o.requireChap(), o.chapGroup());
            return true;
        }
        String name = keys.get("TargetName");
        if (name == null || name.isEmpty()) {
            return fail(MISSING_PARAMETER, "no TargetName in a normal session");
        }
        TargetNode t = ctx.findTarget(name);
        if (t == null || t.deleted()) {
            return fail(NOT_FOUND, "no target " + name);
        }
        if (!mappedHere(t)) {
            return fail(NOT_FOUND, "target " + name + " is not on portal group " + portalGroupTag);
        }
        if (!allowed(t, initiator, peer.getAddress())) {
            return fail(AUTHORIZATION_FAILED, "initiator " + initiator + " from " + peer.getAddress().getHostAddress()
                    + " not allowed on " + name);
        }
        if (ctx.sessionCount() >= o.maxSessions()) {
            return fail(OUT_OF_RESOURCES, "too many sessions (" + o.maxSessions() + ")");
        }
        target = t;
        params.targetName = t.name();
        policy = t.chap();
        reply.add("TargetPortalGroupTag", Integer.toString(portalGroupTag));
        declaredTpgt = true;
        if (t.alias() != null && !t.alias().isEmpty()) {
            reply.add("TargetAlias", t.alias());
        }
        return true;
    }

    private boolean mappedHere(TargetNode t) {
        for (PgIgMapping m : t.mappings()) {
            if (m.portalGroupTag() == portalGroupTag) {
                return true;
            }
        }
        return false;
    }

    private boolean allowed(TargetNode t, String initiator, InetAddress from) {
        for (PgIgMapping m : t.mappings()) {
            if (m.portalGroupTag() != portalGroupTag) {
                continue;
            }
            InitiatorGroup ig = ctx.initiatorGroup(m.initiatorGroupTag());
            if (ig != null && ig.allows(initiator, from)) {
                return true;
            }
        }
        return false;
    }

    private boolean security(TextKeys keys, TextKeys reply) {
        String methods = keys.get("AuthMethod");
        if (methods != null && chap == null && !authDone) {
            String chosen = chooseAuth(methods);
            if (chosen == null) {
                reply.add("AuthMethod", "Reject");
                return fail(AUTHENTICATION_FAILED, "no acceptable AuthMethod in " + methods);
            }
            reply.add("AuthMethod", chosen);
            if (chosen.equals("CHAP")) {
                AuthGroup group = ctx.authGroup(policy.group());
                chap = new ChapState(user -> {
                    AuthGroup g = group != null ? group : ctx.authGroup(policy.group());
                    ChapSecret s = g == null ? null : g.find(user);
                    return s;
                }, policy.mutual());
            } else {
                authDone = true;
            }
        } else if (methods == null && chap == null && !authDone) {
            if (policy.require()) {
                return fail(AUTHENTICATION_FAILED, "CHAP required but no AuthMethod offered");
            }
        }
        if (chap != null && !chap.done() && (keys.contains("CHAP_A") || keys.contains("CHAP_N"))) {
            ChapState.Result r = chap.step(keys, reply);
            if (r == ChapState.Result.FAILED) {
                return fail(AUTHENTICATION_FAILED, "CHAP: " + chap.failure());
            }
            if (r == ChapState.Result.DONE) {
                authDone = true;
            }
        }
        // Operational keys may come in the security stage too.
        return operational(keys, reply);
    }

    private String chooseAuth(String methods) {
        for (String m : methods.split(",")) {
            String v = m.trim();
            if (v.equals("CHAP") && !policy.disable()) {
                return "CHAP";
            }
            if (v.equals("None") && !policy.require()) {
                return "None";
            }
        }
        return null;
    }

    private boolean operational(TextKeys keys, TextKeys reply) {
        for (int i = 0; i < keys.size(); i++) {
            String k = keys.key(i), v = keys.value(i);
            switch (k) {
                case "InitiatorName", "InitiatorAlias", "SessionType", "TargetName", "AuthMethod", "CHAP_A",
                     "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R" -> {
                    if (k.startsWith("CHAP_") && stage != STAGE_SECURITY) {
                        return fail(INITIATOR_ERROR, k + " outside the security stage");
                    }
                }
                case "TargetPortalGroupTag", "TargetAddress", "TargetAlias" -> {
                    return fail(INITIATOR_ERROR, "initiator sent target-only key " + k);
                }
                case "SendTargets" -> reply.add(k, "Irrelevant");
                default -> {
                    try {
                        if (!negotiator.negotiate(k, v, reply, true)) {
                            reply.add(k, "NotUnderstood");
                        }
                    } catch (Negotiator.NegotiationException e) {
                        return fail(INITIATOR_ERROR, e.getMessage());
                    }
                }
            }
        }
        return true;
    }

    private boolean fail(int code, String why) {
        status = code;
        failure = why;
        transit = false;
        return false;
    }

    // ---- Text requests in Full Feature Phase ----

    /** Answers a Text Request's keys (SendTargets, or renegotiation of declaratives). */
    void onText(TextKeys keys, TextKeys reply, boolean discovery, TargetNode current) {
        for (int i = 0; i < keys.size(); i++) {
            String k = keys.key(i), v = keys.value(i);
            if (k.equals("SendTargets")) {
                sendTargets(v, reply, discovery, current);
            } else if (k.equals("MaxRecvDataSegmentLength")) {
                try {
                    negotiator.negotiate(k, v, reply, false);
                } catch (Negotiator.NegotiationException e) {
                    reply.add(k, "Reject");
                }
            } else {
                reply.add(k, Negotiator.class != null && isLoginOnly(k) ? "Reject" : "NotUnderstood");
            }
        }
    }

    private static boolean isLoginOnly(String k) {
        return switch (k) {
            case "HeaderDigest", "DataDigest", "MaxBurstLength", "FirstBurstLength", "InitialR2T", "ImmediateData",
                 "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder", "ErrorRecoveryLevel",
                 "MaxConnections", "DefaultTime2Wait", "DefaultTime2Retain", "SessionType", "InitiatorName",
                 "TargetName", "AuthMethod" -> true;
            default -> false;
        };
    }

    /** SendTargets (RFC 7143 appendix C): targets this initiator may see, with reachable portals. */
    private void sendTargets(String value, TextKeys reply, boolean discovery, TargetNode current) {
        List<TargetNode> list = new ArrayList<>();
        if (discovery && value.equals("All")) {
            for (TargetNode t : ctx.targets()) {
                if (!t.deleted() && visible(t)) {
                    list.add(t);
                }
            }
        } else if (value.isEmpty()) {
            if (current != null) {
                list.add(current);
            }
        } else {
            TargetNode t = ctx.findTarget(value);
            if (t != null && !t.deleted() && visible(t) && (discovery || t == current)) {
                list.add(t);
            }
        }
        for (TargetNode t : list) {
            reply.add("TargetName", t.name());
            for (PgIgMapping m : t.mappings()) {
                InitiatorGroup ig = ctx.initiatorGroup(m.initiatorGroupTag());
                if (ig == null || !ig.allows(params.initiatorName, peer.getAddress())) {
                    continue;
                }
                PortalGroup pg = ctx.portalGroup(m.portalGroupTag());
                if (pg == null || pg.privateGroup()) {
                    continue;
                }
                for (Portal p : pg.portals()) {
                    reply.add("TargetAddress", address(p) + "," + pg.tag());
                }
            }
        }
    }

    private boolean visible(TargetNode t) {
        for (PgIgMapping m : t.mappings()) {
            InitiatorGroup ig = ctx.initiatorGroup(m.initiatorGroupTag());
            if (ig != null && ig.allows(params.initiatorName, peer.getAddress())) {
                return true;
            }
        }
        return false;
    }

    /** A portal bound to the wildcard address is reported as the address the initiator reached us on. */
    private String address(Portal p) {
        String host = p.host();
        if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") || host.isEmpty()) {
            host = local.getAddress().getHostAddress();
        }
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return host + ":" + p.port();
    }

    boolean declaredTpgt() {
        return declaredTpgt;
    }
}
