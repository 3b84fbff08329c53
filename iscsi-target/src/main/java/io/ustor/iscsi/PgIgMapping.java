package io.ustor.iscsi;

/** A portal group / initiator group pair of a target node: initiators of the group may log in through the portals. */
public record PgIgMapping(int portalGroupTag, int initiatorGroupTag) {
}
