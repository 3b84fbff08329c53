package io.ustor.scsi;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Reservations of one logical unit: SPC-2 RESERVE/RELEASE and SPC-4 persistent reservations (registrations,
 * the six reservation types, PREEMPT, CLEAR). Shared by the connections of every reactor, so the state is guarded
 * by this object's monitor; the per-I/O check reads one volatile flag first and takes the monitor only while a
 * reservation or registration exists.
 */
public final class Reservations {
    public static final int WRITE_EXCLUSIVE = 1, EXCLUSIVE_ACCESS = 3, WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5,
            EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 6, WRITE_EXCLUSIVE_ALL_REGISTRANTS = 7,
            EXCLUSIVE_ACCESS_ALL_REGISTRANTS = 8;

    /** What a command does to the medium, for the conflict check. */
    public enum Access { NONE, READ, WRITE }

    /** The outcome of a PERSISTENT RESERVE OUT / RESERVE / RELEASE. */
    public static final int OK = 0, CONFLICT = 1, INVALID_FIELD_CDB = 2, INVALID_FIELD_PARAMETERS = 3,
            INVALID_RELEASE = 4;

    private record Registration(ScsiNexus nexus, long key) {
    }

    private final List<Registration> registrations = new ArrayList<>();
    private int generation;
    /** Persistent reservation: holder (null for the all-registrants types) and type (0 = none). */
    private ScsiNexus holder;
    private int type;
    /** SPC-2 reservation holder. */
    private ScsiNexus legacyHolder;
    /** Fast path: true while anything above is set. */
    private volatile boolean active;

    private void updateActive() {
        active = legacyHolder != null || type != 0 || !registrations.isEmpty();
    }

    /** Whether {@code access} by {@code nexus} conflicts with a reservation. Lock-free when nothing is reserved. */
    public boolean conflicts(ScsiNexus nexus, Access access) {
        if (!active || access == Access.NONE) {
            return false;
        }
        synchronized (this) {
            if (legacyHolder != null) {
                return !legacyHolder.sameAs(nexus);
            }
            if (type == 0) {
                return false;
            }
            boolean isHolder = isHolder(nexus);
            boolean registered = find(nexus) != null;
            return switch (type) {
                case WRITE_EXCLUSIVE -> access == Access.WRITE && !isHolder;
                case EXCLUSIVE_ACCESS -> !isHolder;
                case WRITE_EXCLUSIVE_REGISTRANTS_ONLY, WRITE_EXCLUSIVE_ALL_REGISTRANTS ->
                        access == Access.WRITE && !registered;
                case EXCLUSIVE_ACCESS_REGISTRANTS_ONLY, EXCLUSIVE_ACCESS_ALL_REGISTRANTS -> !registered;
                default -> false;
            };
        }
    }

    /** Whether commands that SPC-2 reservations block (most but INQUIRY-like ones) conflict. */
    public boolean legacyConflict(ScsiNexus nexus) {
        if (!active) {
            return false;
        }
        synchronized (this) {
            return legacyHolder != null && !legacyHolder.sameAs(nexus);
        }
    }

    private boolean isHolder(ScsiNexus n) {
        if (type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS) {
            return find(n) != null;
        }
        return holder != null && holder.sameAs(n);
    }

    private Registration find(ScsiNexus n) {
        for (Registration r : registrations) {
            if (r.nexus.sameAs(n)) {
                return r;
            }
        }
        return null;
    }

    /** RESERVE(6)/(10). */
    public synchronized int reserveLegacy(ScsiNexus n) {
        if (type != 0 || (legacyHolder != null && !legacyHolder.sameAs(n))) {
            return CONFLICT;
        }
        legacyHolder = n;
        updateActive();
        return OK;
    }

    /** RELEASE(6)/(10): releases only the caller's own reservation; anything else is GOOD without effect. */
    public synchronized int releaseLegacy(ScsiNexus n) {
        if (type != 0) {
            return CONFLICT;
        }
        if (legacyHolder != null && legacyHolder.sameAs(n)) {
            legacyHolder = null;
            updateActive();
        }
        return OK;
    }

    /** A LOGICAL UNIT RESET / target reset releases the SPC-2 reservation (persistent ones survive). */
    public synchronized void reset() {
        legacyHolder = null;
        updateActive();
    }

    /** The nexus went away (logout, connection loss): its SPC-2 reservation goes with it. */
    public synchronized void nexusLost(ScsiNexus n) {
        if (legacyHolder != null && legacyHolder.sameAs(n)) {
            legacyHolder = null;
            updateActive();
        }
    }

    // ---- PERSISTENT RESERVE OUT ----

    /** REGISTER (ignore = false) and REGISTER AND IGNORE EXISTING KEY (ignore = true). */
    public synchronized int register(ScsiNexus n, long key, long serviceKey, boolean ignore) {
        Registration r = find(n);
        if (r == null) {
            if (!ignore && key != 0) {
                return CONFLICT;
            }
            if (serviceKey != 0) {
                registrations.add(new Registration(n, serviceKey));
            }
        } else {
            if (!ignore && key != r.key) {
                return CONFLICT;
            }
            registrations.remove(r);
            if (serviceKey != 0) {
                registrations.add(new Registration(n, serviceKey));
            } else {
                unregistered(n);
            }
        }
        generation++;
        updateActive();
        return OK;
    }

    private void unregistered(ScsiNexus n) {
        if (type == 0) {
            return;
        }
        if (type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS) {
            if (registrations.isEmpty()) {
                type = 0;
                holder = null;
            }
        } else if (holder != null && holder.sameAs(n)) {
            type = 0;
            holder = null;
        }
    }

    public synchronized int reserve(ScsiNexus n, long key, int newType) {
        Registration r = find(n);
        if (r == null || r.key != key) {
            return CONFLICT;
        }
        if (!validType(newType)) {
            return INVALID_FIELD_CDB;
        }
        if (type != 0) {
            if (isHolder(n) && type == newType) {
                return OK;
            }
            return CONFLICT;
        }
        if (legacyHolder != null && !legacyHolder.sameAs(n)) {
            return CONFLICT;
        }
        type = newType;
        holder = n;
        updateActive();
        return OK;
    }

    public synchronized int release(ScsiNexus n, long key, int relType) {
        Registration r = find(n);
        if (r == null || r.key != key) {
            return CONFLICT;
        }
        if (type == 0 || !isHolder(n)) {
            return OK;
        }
        if (relType != type) {
            return INVALID_RELEASE;
        }
        type = 0;
        holder = null;
        updateActive();
        return OK;
    }

    public synchronized int clear(ScsiNexus n, long key) {
        Registration r = find(n);
        if (r == null || r.key != key) {
            return CONFLICT;
        }
        registrations.clear();
        type = 0;
        holder = null;
        generation++;
        updateActive();
        return OK;
    }

    /** PREEMPT: removes the registrations with {@code serviceKey}; takes over the reservation if it held it. */
    public synchronized int preempt(ScsiNexus n, long key, long serviceKey, int newType) {
        Registration r = find(n);
        if (r == null || r.key != key) {
            return CONFLICT;
        }
        boolean allRegistrants = type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
        if (serviceKey == 0 && !(allRegistrants)) {
            return INVALID_FIELD_PARAMETERS;
        }
        boolean holderPreempted = type != 0 && !allRegistrants && holder != null && keyOf(holder) == serviceKey;
        boolean removedAny = false;
        for (int i = registrations.size() - 1; i >= 0; i--) {
            Registration x = registrations.get(i);
            if ((serviceKey == 0 || x.key == serviceKey) && !x.nexus.sameAs(n)) {
                registrations.remove(i);
                removedAny = true;
            } else if (serviceKey != 0 && x.key == serviceKey && x.nexus.sameAs(n) && allRegistrants) {
                removedAny = true;
            }
        }
        if (!removedAny && !holderPreempted && type != 0) {
            return CONFLICT;
        }
        if (holderPreempted || allRegistrants) {
            if (!validType(newType)) {
                return INVALID_FIELD_CDB;
            }
            type = newType;
            holder = n;
        }
        generation++;
        updateActive();
        return OK;
    }

    private long keyOf(ScsiNexus n) {
        Registration r = find(n);
        return r == null ? 0 : r.key;
    }

    private static boolean validType(int t) {
        return t == 1 || t == 3 || t == 5 || t == 6 || t == 7 || t == 8;
    }

    // ---- PERSISTENT RESERVE IN ----

    /** READ KEYS parameter data into {@code out}; returns the full length (may exceed {@code max}). */
    public synchronized int readKeys(MemorySegment out, int max) {
        int total = 8 + 8 * registrations.size();
        byte[] b = new byte[total];
        putInt(b, 0, generation);
        putInt(b, 4, 8 * registrations.size());
        int off = 8;
        for (Registration r : registrations) {
            putLong(b, off, r.key);
            off += 8;
        }
        copy(b, out, max);
        return total;
    }

    /** READ RESERVATION parameter data. */
    public synchronized int readReservation(MemorySegment out, int max) {
        int total = type != 0 ? 24 : 8;
        byte[] b = new byte[total];
        putInt(b, 0, generation);
        putInt(b, 4, total - 8);
        if (type != 0) {
            long key = (type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS)
                    ? 0 : keyOf(holder);
            putLong(b, 8, key);
            b[21] = (byte) (type & 0x0f); // scope 0 = LU
        }
        copy(b, out, max);
        return total;
    }

    /** REPORT CAPABILITIES parameter data (SPC-4 6.16.4). */
    public int reportCapabilities(MemorySegment out, int max) {
        byte[] b = new byte[8];
        b[1] = 8;
        b[2] = 0x01;                // PTPL_C = 0, ATP_C = 0, SIP_C = 0, CRH = 0 ... (byte 2 bit0: PTPL_C)
        b[2] = 0;
        b[3] = (byte) 0x80;         // TMV: the type mask is valid
        b[4] = (byte) (0x80 | 0x40 | 0x20 | 0x08 | 0x02); // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
        b[5] = 0x01;                // EX_AC_AR
        copy(b, out, max);
        return 8;
    }

    /** READ FULL STATUS parameter data (SPC-4 6.16.5), without TransportIDs' optional parts. */
    public synchronized int readFullStatus(MemorySegment out, int max) {
        List<byte[]> descs = new ArrayList<>();
        for (Registration r : registrations) {
            byte[] tid = transportId(r.nexus.initiatorPort());
            byte[] d = new byte[24 + tid.length];
            putLong(d, 0, r.key);
            boolean holds = type != 0 && isHolder(r.nexus);
            d[12] = (byte) (holds ? 0x01 : 0); // R_HOLDER
            d[13] = (byte) (holds ? type : 0);
            d[18] = (byte) (r.nexus.relativeTargetPortId() >>> 8);
            d[19] = (byte) r.nexus.relativeTargetPortId();
            putInt(d, 20, tid.length);
            System.arraycopy(tid, 0, d, 24, tid.length);
            descs.add(d);
        }
        int len = 0;
        for (byte[] d : descs) {
            len += d.length;
        }
        byte[] b = new byte[8 + len];
        putInt(b, 0, generation);
        putInt(b, 4, len);
        int off = 8;
        for (byte[] d : descs) {
            System.arraycopy(d, 0, b, off, d.length);
            off += d.length;
        }
        copy(b, out, max);
        return b.length;
    }

    /** iSCSI TransportID format 01b: "name,i,0xISID", NUL-padded to a multiple of 4 (SPC-4 7.6.4.6). */
    private static byte[] transportId(String initiatorPort) {
        byte[] name = initiatorPort.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int n = (name.length + 1 + 3) & ~3;
        byte[] b = new byte[4 + n];
        b[0] = (byte) (0x40 | 0x05); // format 01b, protocol iSCSI
        b[2] = (byte) (n >>> 8);
        b[3] = (byte) n;
        System.arraycopy(name, 0, b, 4, name.length);
        return b;
    }

    private static void copy(byte[] b, MemorySegment out, int max) {
        int n = Math.min(b.length, max);
        MemorySegment.copy(b, 0, out, JAVA_BYTE, 0, n);
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    private static void putLong(byte[] b, int off, long v) {
        putInt(b, off, (int) (v >>> 32));
        putInt(b, off + 4, (int) v);
    }
}
