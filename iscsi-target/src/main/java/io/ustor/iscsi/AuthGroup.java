package io.ustor.iscsi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** An auth group (SPDK iscsi_create_auth_group): a tag and its CHAP secrets. Secrets may be added later. */
public final class AuthGroup {
    private final int tag;
    private final List<ChapSecret> secrets = new CopyOnWriteArrayList<>();

    public AuthGroup(int tag, List<ChapSecret> secrets) {
        if (tag < 1 || tag > 65535) {
            throw new IllegalArgumentException("auth group tag " + tag + " outside 1..65535");
        }
        this.tag = tag;
        for (ChapSecret s : secrets) {
            addSecret(s);
        }
    }

    public int tag() {
        return tag;
    }

    public List<ChapSecret> secrets() {
        return List.copyOf(secrets);
    }

    public synchronized void addSecret(ChapSecret s) {
        if (find(s.user()) != null) {
            throw new IllegalArgumentException("auth group " + tag + " already has user " + s.user());
        }
        secrets.add(s);
    }

    public synchronized boolean removeSecret(String user) {
        ChapSecret s = find(user);
        return s != null && secrets.remove(s);
    }

    /** The secret for the initiator's CHAP_N, or null. */
    public ChapSecret find(String user) {
        for (ChapSecret s : secrets) {
            if (s.user().equals(user)) {
                return s;
            }
        }
        return null;
    }
}
