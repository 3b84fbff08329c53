package io.ustor.iscsi;

/** What iscsi_get_connections reports about one connection. */
public record ConnectionInfo(int cid, int tsih, String isid, String initiatorName, String targetNodeName,
                             String targetAddr, String initiatorAddr, int portalGroupTag, int reactor,
                             boolean discovery) {
}
