package io.ustor.testbed;

import io.ustor.testbed.internal.HostLayout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the test guest looks like: memory, CPUs, devices, shares, forwarded ports, timeouts. Get one from
 * {@link Guest#builder()}; {@link #start()} boots a guest for several commands, {@link #run(String)} boots one
 * for a single script. Defaults: 1 GiB, 2 CPUs, 64 hugepages of 2 MiB, the project at {@value Guest#PROJECT_PATH},
 * the JDK at {@value Guest#JDK_PATH}, Maven's repository at {@value Guest#MAVEN_REPOSITORY_PATH} (all read-only).
 */
public final class GuestBuilder {
    /** An emulated NVMe controller with one namespace backed by {@code file}. */
    public record NvmeDrive(Path file, String serial) {
    }

    /**
     * A vhost-user-blk device whose back end (the server) listens on {@code socket}; with {@code reconnectSeconds}
     * above 0, QEMU connects again that often after the back end went away (the chardev's {@code reconnect=N}).
     */
    public record VhostUserBlkDevice(Path socket, int numQueues, int reconnectSeconds) {
        public VhostUserBlkDevice(Path socket, int numQueues) {
            this(socket, numQueues, 0);
        }
    }

    int memoryMb = 1024;
    int cpus = 2;
    int hugepages = 64;
    boolean iommu;
    boolean sharedMemory;
    boolean monitor;
    final List<NvmeDrive> nvmeDrives = new ArrayList<>();
    final List<VhostUserBlkDevice> vhostUserBlkDevices = new ArrayList<>();
    final List<Share> shares = new ArrayList<>();
    boolean defaultShares = true;
    /** guest port -> host port (0: pick a free one at start). */
    final Map<Integer, Integer> hostForwards = new LinkedHashMap<>();
    final List<String> kernelArgs = new ArrayList<>();
    final List<String> qemuArgs = new ArrayList<>();
    final List<String> guestJvmOptions = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    Duration bootTimeout = Duration.ofMinutes(4);
    Duration commandTimeout = Duration.ofMinutes(5);
    Duration lifetime = Duration.ofMinutes(30);
    GuestImage image;
    Accelerator accelerator;
    String name = "guest";

    GuestBuilder() {
    }

    /** A name for log lines and the run folder (e.g. the test class's simple name). */
    public GuestBuilder name(String name) {
        this.name = Objects.requireNonNull(name);
        return this;
    }

    public GuestBuilder memoryMb(int memoryMb) {
        if (memoryMb < 256) {
            throw new IllegalArgumentException("memoryMb " + memoryMb + " < 256");
        }
        this.memoryMb = memoryMb;
        return this;
    }

    public GuestBuilder cpus(int cpus) {
        if (cpus < 1) {
            throw new IllegalArgumentException("cpus " + cpus);
        }
        this.cpus = cpus;
        return this;
    }

    /** 2 MiB hugepages the guest kernel reserves at boot (hugetlbfs is mounted on /dev/hugepages); 0 for none. */
    public GuestBuilder hugepages(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("hugepages " + count);
        }
        this.hugepages = count;
        return this;
    }

    /**
     * A virtual Intel IOMMU (q35 with kernel-irqchip=split, intel-iommu with interrupt remapping and caching mode,
     * intel_iommu=on in the guest): devices get IOMMU groups and can be bound to vfio-pci.
     */
    public GuestBuilder iommu(boolean on) {
        this.iommu = on;
        return this;
    }

    /**
     * Adds an emulated NVMe controller (PCI 1b36:0010) with one namespace backed by {@code file} (raw, opened
     * read-write: the host sees what the guest writes). Serial "ustor-nvme-N", N counting from 0.
     */
    public GuestBuilder nvme(Path file) {
        return nvme(file, "ustor-nvme-" + nvmeDrives.size());
    }

    public GuestBuilder nvme(Path file, String serial) {
        requireFile(file);
        nvmeDrives.add(new NvmeDrive(file.toAbsolutePath(), serial));
        return this;
    }

    /**
     * Adds a vhost-user-blk device (one queue) served by the back end listening on {@code socket}; the server must be
     * listening before {@link #start()}. The guest's RAM is then a shared memfd. In the guest the devices are
     * /dev/vdb, /dev/vdc, ... in the order added (/dev/vda is the root disk).
     */
    public GuestBuilder vhostUserBlk(Path socket) {
        return vhostUserBlk(socket, 1);
    }

    public GuestBuilder vhostUserBlk(Path socket, int numQueues) {
        if (numQueues < 1) {
            throw new IllegalArgumentException("numQueues " + numQueues);
        }
        vhostUserBlkDevices.add(new VhostUserBlkDevice(socket.toAbsolutePath(), numQueues));
        sharedMemory = true;
        return this;
    }

    /**
     * As {@link #vhostUserBlk(Path, int)}, and QEMU reconnects every {@code reconnectSeconds} when the back end goes
     * away (chardev {@code reconnect=N}), as for a storage daemon that restarts: the guest's I/O waits meanwhile.
     */
    public GuestBuilder vhostUserBlkReconnecting(Path socket, int numQueues, int reconnectSeconds) {
        if (numQueues < 1 || reconnectSeconds < 1) {
            throw new IllegalArgumentException("numQueues " + numQueues + ", reconnectSeconds " + reconnectSeconds);
        }
        vhostUserBlkDevices.add(new VhostUserBlkDevice(socket.toAbsolutePath(), numQueues, reconnectSeconds));
        sharedMemory = true;
        return this;
    }

    /** Guest RAM in a shared memfd (memory-backend-memfd, share=on), as vhost-user needs; implied by vhostUserBlk. */
    public GuestBuilder sharedMemory(boolean on) {
        this.sharedMemory = on;
        return this;
    }

    /** A host folder the guest mounts read-only at {@code guestPath}. */
    public GuestBuilder share(Path hostPath, String guestPath) {
        return share(new Share(hostPath, guestPath, true));
    }

    /** A host folder the guest mounts read-write at {@code guestPath}. */
    public GuestBuilder shareWritable(Path hostPath, String guestPath) {
        return share(new Share(hostPath, guestPath, false));
    }

    public GuestBuilder share(Share share) {
        if (!Files.isDirectory(share.hostPath())) {
            throw new IllegalArgumentException("not a folder: " + share.hostPath());
        }
        shares.add(share);
        return this;
    }

    /** Leaves out the project, JDK and Maven repository shares (a guest that needs none of them). */
    public GuestBuilder withoutDefaultShares() {
        this.defaultShares = false;
        return this;
    }

    /** Forwards host 127.0.0.1:{@code hostPort} to the guest's {@code guestPort} (TCP). */
    public GuestBuilder hostForward(int hostPort, int guestPort) {
        if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("ports " + hostPort + " -> " + guestPort);
        }
        hostForwards.put(guestPort, hostPort);
        return this;
    }

    /** Forwards a free host port (see {@link Guest#hostPort(int)}) to the guest's {@code guestPort} (TCP). */
    public GuestBuilder hostForward(int guestPort) {
        if (guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("port " + guestPort);
        }
        hostForwards.put(guestPort, 0);
        return this;
    }

    /**
     * QEMU's human monitor (HMP) on a Unix socket in the run folder, for {@link Guest#monitorCommand(String)}:
     * e.g. {@code device_del ID} to hot-remove a device.
     */
    public GuestBuilder monitor() {
        this.monitor = true;
        return this;
    }

    /** Extra guest kernel command line arguments. */
    public GuestBuilder kernelArgs(String... args) {
        kernelArgs.addAll(List.of(args));
        return this;
    }

    /** Extra QEMU arguments, appended last (devices this builder has no method for). */
    public GuestBuilder qemuArgs(String... args) {
        qemuArgs.addAll(List.of(args));
        return this;
    }

    /** JVM options for {@link Guest#java}; replaces the defaults (native access, serial GC, C1 only: C2 compiles are slow under TCG). */
    public GuestBuilder guestJvmOptions(String... options) {
        guestJvmOptions.clear();
        guestJvmOptions.addAll(List.of(options));
        return this;
    }

    /** How long the guest may take to boot up to its command loop (default 4 minutes). */
    public GuestBuilder bootTimeout(Duration timeout) {
        this.bootTimeout = positive(timeout);
        return this;
    }

    /** How long one command may run by default (5 minutes); a command that runs over kills the guest. */
    public GuestBuilder commandTimeout(Duration timeout) {
        this.commandTimeout = positive(timeout);
        return this;
    }

    /** The longest the QEMU process may live, whatever happens (30 minutes); a last guard. */
    public GuestBuilder lifetime(Duration lifetime) {
        this.lifetime = positive(lifetime);
        return this;
    }

    /** Boots this image instead of the cached one for the current recipe. */
    public GuestBuilder image(GuestImage image) {
        this.image = Objects.requireNonNull(image);
        return this;
    }

    /** Forces an accelerator instead of the probed one (also: environment variable USTOR_TESTBED_ACCEL=kvm|tcg). */
    public GuestBuilder accelerator(Accelerator accelerator) {
        this.accelerator = Objects.requireNonNull(accelerator);
        return this;
    }

    /** Boots the guest and waits until it accepts commands. Close it (try-with-resources / @AfterAll). */
    public Guest start() {
        List<Share> all = new ArrayList<>();
        if (defaultShares) {
            all.add(new Share(HostLayout.projectRoot(), Guest.PROJECT_PATH, true));
            all.add(new Share(HostLayout.jdkHome(), Guest.JDK_PATH, true));
            HostLayout.mavenRepository().ifPresent(repo -> all.add(new Share(repo, Guest.MAVEN_REPOSITORY_PATH, true)));
        }
        all.addAll(shares);
        return Guest.boot(this, all);
    }

    /** Boots a guest, runs {@code script} (bash) in it, powers it off: one boot for one script. */
    public GuestResult run(String script) {
        try (Guest guest = start()) {
            return guest.exec(script);
        }
    }

    private static void requireFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("not a file: " + file);
        }
    }

    private static Duration positive(Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("not positive: " + d);
        }
        return d;
    }
}
