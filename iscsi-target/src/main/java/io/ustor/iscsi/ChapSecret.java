package io.ustor.iscsi;

/** One CHAP secret of an auth group: the initiator's user/secret, and for mutual CHAP the target's. */
public record ChapSecret(String user, String secret, String mutualUser, String mutualSecret) {
    public ChapSecret {
        if (user == null || user.isEmpty() || secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("CHAP user and secret are required");
        }
        if ((mutualUser == null) != (mutualSecret == null)) {
            throw new IllegalArgumentException("muser and msecret go together");
        }
    }
}
