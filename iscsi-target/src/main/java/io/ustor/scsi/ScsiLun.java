package io.ustor.scsi;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.IoType;

import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A logical unit: one bdev exposed under a LUN id of a target. Shared by every connection to the target (each
 * runs commands through its own {@link LunChannel} on its own reactor); what they share here (reservations,
 * mode parameters, the reset generation) is either immutable, volatile, or guarded by {@link Reservations}.
 */
public final class ScsiLun {
    /** Largest transfer we accept in one command, in bytes (advertised in the Block Limits VPD page). */
    public static final int MAX_TRANSFER_BYTES = 64 << 20;
    /** The transfer size we advertise as optimal (and use for WRITE SAME chunks). */
    public static final int OPTIMAL_TRANSFER_BYTES = 1 << 20;
    /** Largest COMPARE AND WRITE, in blocks. */
    public static final int MAX_COMPARE_AND_WRITE_BLOCKS = 255;
    public static final int MAX_UNMAP_DESCRIPTORS = 256;

    private final int id;
    private final BdevDesc desc;
    private final Bdev bdev;
    private final String serial;
    private final byte[] naa;
    private final boolean readOnly;
    private final boolean removable;
    /** Removable medium: loaded (START STOP UNIT with LOEJ ejects and loads it). */
    volatile boolean mediumPresent = true;
    /** Nexuses that sent PREVENT MEDIUM REMOVAL (initiator port + target port). */
    private final java.util.Set<String> preventing = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Reservations reservations = new Reservations();
    /** Bumped by LOGICAL UNIT RESET: every nexus sees one unit attention (29/03) afterwards. */
    private volatile int resetGeneration;
    /** Serialises COMPARE AND WRITE so the read-compare-write of each is atomic against the others. */
    final AtomicBoolean compareAndWriteBusy = new AtomicBoolean();
    /** Mode parameters changeable by MODE SELECT (Control page): descriptor-format sense. */
    volatile boolean descriptorSense;
    /** Control page SWP: the medium is write-protected by software. */
    volatile boolean softwareWriteProtect;
    /**
     * The last sanitize operation while it runs or after it failed (SBC-4 4.11: commands are refused meanwhile);
     * null once one completed without error or its failure was exited.
     */
    volatile SanitizeOperation sanitize;
    /** Every block is known to be deallocated: a BLOCK ERASE unmapped them all and no write came since. */
    volatile boolean allDeallocated;
    /**
     * Bytes per second a sanitize may write (0: unlimited), so that a background overwrite of a large LUN leaves
     * the bdev to the other LUNs on it. Defaults to the system property {@code ustor.scsi.sanitize.bytesPerSecond}.
     */
    private volatile long sanitizeBytesPerSecond = Long.getLong("ustor.scsi.sanitize.bytesPerSecond", 0L);

    public ScsiLun(int id, BdevDesc desc, boolean readOnly) {
        this(id, desc, readOnly, false);
    }

    public ScsiLun(int id, BdevDesc desc, boolean readOnly, boolean removable) {
        this.id = id;
        this.removable = removable;
        this.desc = desc;
        this.bdev = desc.bdev();
        this.readOnly = readOnly || !desc.writable();
        UUID u = bdev.uuid();
        this.serial = u.toString().replace("-", "").toUpperCase(Locale.ROOT);
        // NAA 6 (IEEE Registered Extended): 4 bits NAA, 24 bits OUI, 100 bits from the UUID.
        byte[] b = new byte[16];
        long hi = u.getMostSignificantBits(), lo = u.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        b[0] = (byte) (0x60 | (b[0] & 0x0f));
        this.naa = b;
    }

    public int id() {
        return id;
    }

    public Bdev bdev() {
        return bdev;
    }

    public BdevDesc desc() {
        return desc;
    }

    public boolean readOnly() {
        return readOnly;
    }

    public String serial() {
        return serial;
    }

    byte[] naa() {
        return naa;
    }

    public Reservations reservations() {
        return reservations;
    }

    public int resetGeneration() {
        return resetGeneration;
    }

    /** LOGICAL UNIT RESET: releases SPC-2 reservations, clears PREVENT, raises a unit attention on every nexus. */
    public void reset() {
        reservations.reset();
        preventing.clear();
        resetGeneration++;
    }

    public long sanitizeBytesPerSecond() {
        return sanitizeBytesPerSecond;
    }

    /** Limits the write rate of sanitize operations started from now on (0: unlimited). */
    public void sanitizeBytesPerSecond(long rate) {
        if (rate < 0) {
            throw new IllegalArgumentException("sanitize rate " + rate);
        }
        sanitizeBytesPerSecond = rate;
    }

    /** Whether a sanitize operation is running on this LU. */
    public boolean sanitizing() {
        SanitizeOperation s = sanitize;
        return s != null && s.running();
    }

    /** Installs {@code op} as the LU's sanitize operation unless one is running (the one place that can race). */
    synchronized boolean beginSanitize(SanitizeOperation op) {
        SanitizeOperation s = sanitize;
        if (s != null && s.running()) {
            return false;
        }
        sanitize = op;
        return true;
    }

    /** Clears the sanitize state if {@code op} is still the current one (completed, or its failure exited). */
    synchronized void endSanitize(SanitizeOperation op) {
        if (sanitize == op) {
            sanitize = null;
        }
    }

    public boolean removable() {
        return removable;
    }

    /** PREVENT (true) or ALLOW (false) medium removal for one nexus. */
    void prevent(ScsiNexus n, boolean on) {
        String key = n.initiatorPort() + "|" + n.targetPort();
        if (on) {
            preventing.add(key);
        } else {
            preventing.remove(key);
        }
    }

    boolean removalPrevented() {
        return !preventing.isEmpty();
    }

    /** A nexus went away (logout, connection loss): its reservation and its medium-removal prevention end. */
    public void nexusLost(ScsiNexus n) {
        reservations.nexusLost(n);
        prevent(n, false);
    }

    public boolean thinProvisioned() {
        return bdev.supportsIoType(IoType.UNMAP);
    }

    public long numBlocks() {
        return bdev.numBlocks();
    }

    public int blockSize() {
        return bdev.blockSize();
    }

    /** Maximum blocks in one READ/WRITE. */
    public int maxTransferBlocks() {
        return MAX_TRANSFER_BYTES / bdev.blockSize();
    }

    /** Optimal blocks in one READ/WRITE. */
    public int optimalTransferBlocks() {
        return OPTIMAL_TRANSFER_BYTES / bdev.blockSize();
    }
}
