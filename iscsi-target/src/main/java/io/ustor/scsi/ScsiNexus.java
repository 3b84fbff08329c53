package io.ustor.scsi;

/**
 * An I_T nexus: one initiator port (iSCSI: InitiatorName plus ISID) talking to one target port (TargetName plus
 * portal group tag). Reservations and unit attentions are kept per nexus.
 */
public final class ScsiNexus {
    private final String initiatorPort;
    private final String initiatorName;
    private final String targetPort;
    private final int relativeTargetPortId;

    public ScsiNexus(String initiatorName, String initiatorPort, String targetPort, int relativeTargetPortId) {
        this.initiatorName = initiatorName;
        this.initiatorPort = initiatorPort;
        this.targetPort = targetPort;
        this.relativeTargetPortId = relativeTargetPortId;
    }

    /** e.g. "iqn.1994-05.com.redhat:abc,i,0x00023d000001". */
    public String initiatorPort() {
        return initiatorPort;
    }

    public String initiatorName() {
        return initiatorName;
    }

    /** e.g. "iqn.2016-06.io.ustor:disk1,t,0x0001". */
    public String targetPort() {
        return targetPort;
    }

    public int relativeTargetPortId() {
        return relativeTargetPortId;
    }

    /** Same initiator port and target port (a reinstated session is the same nexus). */
    public boolean sameAs(ScsiNexus o) {
        return o != null && initiatorPort.equals(o.initiatorPort) && targetPort.equals(o.targetPort);
    }

    @Override
    public String toString() {
        return initiatorPort + " -> " + targetPort;
    }
}
