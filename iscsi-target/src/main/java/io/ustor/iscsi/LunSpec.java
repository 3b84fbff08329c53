package io.ustor.iscsi;

/**
 * A LUN of a target node: the bdev (name, alias or UUID) and the LUN id (0..1023); optionally write-protected or
 * presented as removable medium (PREVENT/ALLOW, eject and load with START STOP UNIT).
 */
public record LunSpec(String bdevName, int lunId, boolean readOnly, boolean removable) {
    public static final int MAX_LUN_ID = 1023;

    public LunSpec {
        if (lunId < 0 || lunId > MAX_LUN_ID) {
            throw new IllegalArgumentException("LUN id " + lunId + " outside 0.." + MAX_LUN_ID);
        }
    }

    public LunSpec(String bdevName, int lunId) {
        this(bdevName, lunId, false, false);
    }
}
