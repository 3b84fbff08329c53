package io.ustor.testbed;

/** How QEMU runs the guest's CPUs. */
public enum Accelerator {
    /** Hardware virtualization; used only when a trial boot with it works on this host. */
    KVM("kvm", "host"),
    /** Software emulation: slower, works everywhere. */
    TCG("tcg", "max");

    private final String qemuName;
    private final String cpuModel;

    Accelerator(String qemuName, String cpuModel) {
        this.qemuName = qemuName;
        this.cpuModel = cpuModel;
    }

    /** The value of QEMU's {@code -accel}. */
    public String qemuName() {
        return qemuName;
    }

    /** The value of QEMU's {@code -cpu} that goes with it. */
    public String cpuModel() {
        return cpuModel;
    }
}
