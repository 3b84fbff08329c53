package io.ustor.iscsi;

import java.util.List;

/**
 * A portal group (SPDK iscsi_create_portal_group): a tag and the portals it listens on. {@code privateGroup}
 * portals are not reported by SendTargets.
 */
public record PortalGroup(int tag, List<Portal> portals, boolean privateGroup) {
    public PortalGroup {
        if (tag < 1 || tag > 65535) {
            throw new IllegalArgumentException("portal group tag " + tag + " outside 1..65535");
        }
        portals = List.copyOf(portals);
        if (portals.isEmpty()) {
            throw new IllegalArgumentException("portal group " + tag + " has no portals");
        }
    }
}
