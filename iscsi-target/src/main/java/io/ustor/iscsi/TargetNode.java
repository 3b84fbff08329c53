package io.ustor.iscsi;

import io.ustor.scsi.LunChannel;
import io.ustor.scsi.ScsiLun;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A target node (SPDK iscsi_create_target_node): its IQN, alias, portal/initiator group pairs, CHAP policy, digest
 * requirements, queue depth and its LUNs. LUNs can be added while sessions run: the table is replaced
 * copy-on-write and connections see it on their next command.
 */
public final class TargetNode implements LunChannel.LunMap {
    private final String name;
    private final String alias;
    private final List<PgIgMapping> mappings;
    private final int queueDepth;
    private final ChapPolicy chap;
    private final boolean headerDigest, dataDigest;
    /** Indexed by LUN id; replaced, never mutated. */
    private volatile ScsiLun[] luns = new ScsiLun[0];
    private volatile int[] lunIds = new int[0];
    private volatile boolean deleted;

    TargetNode(String name, String alias, List<PgIgMapping> mappings, int queueDepth, ChapPolicy chap,
               boolean headerDigest, boolean dataDigest) {
        this.name = name;
        this.alias = alias;
        this.mappings = List.copyOf(mappings);
        this.queueDepth = queueDepth;
        this.chap = chap;
        this.headerDigest = headerDigest;
        this.dataDigest = dataDigest;
    }

    public String name() {
        return name;
    }

    public String alias() {
        return alias;
    }

    public List<PgIgMapping> mappings() {
        return mappings;
    }

    public int queueDepth() {
        return queueDepth;
    }

    public ChapPolicy chap() {
        return chap;
    }

    public boolean requireHeaderDigest() {
        return headerDigest;
    }

    public boolean requireDataDigest() {
        return dataDigest;
    }

    public boolean deleted() {
        return deleted;
    }

    void markDeleted() {
        deleted = true;
    }

    /** The LUN with this id, or null. Any thread; lock-free. */
    public ScsiLun lun(int id) {
        ScsiLun[] t = luns;
        return id >= 0 && id < t.length ? t[id] : null;
    }

    @Override
    public int[] lunIds() {
        return lunIds;
    }

    /** The LUNs in id order. */
    public List<ScsiLun> luns() {
        List<ScsiLun> out = new ArrayList<>();
        for (ScsiLun l : luns) {
            if (l != null) {
                out.add(l);
            }
        }
        return out;
    }

    synchronized void addLun(ScsiLun lun) {
        ScsiLun[] t = luns;
        if (lun.id() < t.length && t[lun.id()] != null) {
            throw new IllegalArgumentException("target " + name + " already has LUN " + lun.id());
        }
        ScsiLun[] n = Arrays.copyOf(t, Math.max(t.length, lun.id() + 1));
        n[lun.id()] = lun;
        luns = n;
        int[] ids = new int[lunIds.length + 1];
        int k = 0;
        for (int i = 0; i < n.length; i++) {
            if (n[i] != null) {
                ids[k++] = i;
            }
        }
        lunIds = ids;
    }

    /** The lowest free LUN id. */
    synchronized int nextFreeLunId() {
        ScsiLun[] t = luns;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == null) {
                return i;
            }
        }
        return t.length;
    }

    @Override
    public String toString() {
        return "target " + name;
    }
}
