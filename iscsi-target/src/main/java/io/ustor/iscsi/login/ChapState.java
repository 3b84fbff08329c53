package io.ustor.iscsi.login;

import io.ustor.iscsi.ChapSecret;

import java.util.function.Function;

/**
 * The target side of one CHAP exchange during login's security stage: CHAP_A is answered with our algorithm,
 * identifier and challenge; CHAP_N/CHAP_R are checked against the auth group's secret; for mutual CHAP the
 * initiator's CHAP_I/CHAP_C are answered with the target's CHAP_N/CHAP_R.
 */
public final class ChapState {
    /** Outcomes of {@link #step}. */
    public enum Result { CONTINUE, DONE, FAILED }

    private final Function<String, ChapSecret> secrets;
    private final boolean mutualRequired;
    private int id = -1;
    private byte[] challenge;
    private String failure;
    private boolean done;

    public ChapState(Function<String, ChapSecret> secrets, boolean mutualRequired) {
        this.secrets = secrets;
        this.mutualRequired = mutualRequired;
    }

    public boolean done() {
        return done;
    }

    /** Why the exchange failed (for the log). */
    public String failure() {
        return failure;
    }

    /** Processes the CHAP keys of one login PDU, adding our keys to {@code reply}. */
    public Result step(TextKeys keys, TextKeys reply) {
        String a = keys.get("CHAP_A");
        if (challenge == null) {
            if (a == null) {
                return fail("expected CHAP_A");
            }
            boolean md5 = false;
            for (String alg : a.split(",")) {
                if (alg.trim().equals(Chap.ALGORITHM_MD5)) {
                    md5 = true;
                }
            }
            if (!md5) {
                reply.add("CHAP_A", "Reject");
                return fail("initiator offers no MD5 (CHAP_A=" + a + ")");
            }
            id = Chap.newIdentifier();
            challenge = Chap.newChallenge();
            reply.add("CHAP_A", Chap.ALGORITHM_MD5);
            reply.add("CHAP_I", Integer.toString(id));
            reply.add("CHAP_C", Chap.encodeHex(challenge));
            return Result.CONTINUE;
        }
        String n = keys.get("CHAP_N"), r = keys.get("CHAP_R");
        if (n == null || r == null) {
            return fail("expected CHAP_N and CHAP_R");
        }
        ChapSecret secret = secrets.apply(n);
        if (secret == null) {
            return fail("no secret for CHAP user " + n);
        }
        byte[] got;
        try {
            got = Chap.decode(r);
        } catch (IllegalArgumentException e) {
            return fail("malformed CHAP_R");
        }
        if (!Chap.matches(got, Chap.response(id, secret.secret(), challenge))) {
            return fail("wrong CHAP response for user " + n);
        }
        String mi = keys.get("CHAP_I"), mc = keys.get("CHAP_C");
        if (mi != null || mc != null) {
            if (mi == null || mc == null) {
                return fail("mutual CHAP needs both CHAP_I and CHAP_C");
            }
            if (secret.mutualUser() == null) {
                return fail("mutual CHAP asked but user " + n + " has no target secret");
            }
            int mid;
            byte[] mchallenge;
            try {
                mid = Integer.parseInt(mi);
                mchallenge = Chap.decode(mc);
            } catch (IllegalArgumentException e) {
                return fail("malformed CHAP_I/CHAP_C");
            }
            if (mid < 0 || mid > 255 || mchallenge.length == 0) {
                return fail("bad mutual CHAP identifier or challenge");
            }
            if (java.util.Arrays.equals(mchallenge, challenge)) {
                return fail("initiator reflected our challenge");
            }
            reply.add("CHAP_N", secret.mutualUser());
            reply.add("CHAP_R", Chap.encodeHex(Chap.response(mid, secret.mutualSecret(), mchallenge)));
        } else if (mutualRequired) {
            return fail("mutual CHAP required but the initiator did not ask for it");
        }
        done = true;
        return Result.DONE;
    }

    private Result fail(String why) {
        failure = why;
        return Result.FAILED;
    }
}
