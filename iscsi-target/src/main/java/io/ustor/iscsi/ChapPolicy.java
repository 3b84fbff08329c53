package io.ustor.iscsi;

/** Whether a login must, may or must not use CHAP, and which auth group holds the secrets. */
public record ChapPolicy(boolean disable, boolean require, boolean mutual, int group) {
    public ChapPolicy {
        if (disable && (require || mutual)) {
            throw new IllegalArgumentException("disable_chap excludes require_chap and mutual_chap");
        }
        if (mutual && !require) {
            throw new IllegalArgumentException("mutual_chap needs require_chap");
        }
    }

    public static ChapPolicy none() {
        return new ChapPolicy(false, false, false, 0);
    }
}
