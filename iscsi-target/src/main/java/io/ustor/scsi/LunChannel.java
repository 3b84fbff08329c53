package io.ustor.scsi;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoStatus;
import io.ustor.bdev.IoType;
import io.ustor.env.Errno;

import java.lang.foreign.MemorySegment;

import static io.ustor.scsi.Bytes.get16;
import static io.ustor.scsi.Bytes.get32;
import static io.ustor.scsi.Bytes.get64;
import static io.ustor.scsi.Bytes.get8;
import static io.ustor.scsi.Bytes.u16;
import static io.ustor.scsi.Bytes.u32;
import static io.ustor.scsi.Bytes.u64;
import static io.ustor.scsi.Bytes.u8;
import static io.ustor.scsi.Bytes.zero;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One I_T_L nexus on one reactor: runs the SCSI commands of one connection against one logical unit, through
 * that reactor's bdev channel. Decodes the CDB (SPC-4/SBC-3), checks it, submits bdev I/O with itself as the
 * callback and the task as the argument (no allocation per command), and completes the task with status and
 * sense. Not thread-safe: everything runs on the connection's reactor.
 */
public final class LunChannel implements BdevIoCallback {
    private final ScsiLun lun;
    private final BdevDesc desc;
    private final BdevChannel ch;
    private final ScsiNexus nexus;
    private final LunMap lunMap;
    private final int blockSize;
    private int seenResetGeneration;
    /** A pending unit attention (ASC/ASCQ) for this nexus, 0 for none. */
    private int unitAttention;
    /** Tasks waiting for COMPARE AND WRITE's lock or a free bdev io: retried by {@link #poll()}. */
    private final ScsiTask[] deferred;
    private int deferredCount;
    /** Sense of the last CHECK CONDITION for REQUEST SENSE (we use autosense, so this is usually empty). */
    private boolean closed;

    /** The LUN ids of the target, for REPORT LUNS. */
    public interface LunMap {
        int[] lunIds();

        /** The LU with this id, for EXTENDED COPY between LUs of the target; null if unknown. */
        default ScsiLun lun(int id) {
            return null;
        }
    }

    /** Opens the channel on the calling reactor. */
    public LunChannel(ScsiLun lun, ScsiNexus nexus, LunMap lunMap, int maxTasks) {
        this.lun = lun;
        this.desc = lun.desc();
        this.ch = desc.getIoChannel();
        this.nexus = nexus;
        this.lunMap = lunMap;
        this.blockSize = lun.blockSize();
        this.seenResetGeneration = lun.resetGeneration();
        this.deferred = new ScsiTask[maxTasks];
    }

    public ScsiLun lun() {
        return lun;
    }

    /** Releases the bdev channel (on the reactor). */
    public void close() {
        if (!closed) {
            closed = true;
            desc.putIoChannel(ch);
        }
    }

    /** Retries deferred tasks; returns how many made progress. Call from the connection's poller while any wait. */
    public int poll() {
        int n = deferredCount;
        if (n == 0) {
            return 0;
        }
        deferredCount = 0;
        int progressed = 0;
        for (int i = 0; i < n; i++) {
            ScsiTask t = deferred[i];
            deferred[i] = null;
            int before = deferredCount;
            resume(t);
            if (deferredCount == before) {
                progressed++;
            }
        }
        return progressed;
    }

    public boolean hasDeferred() {
        return deferredCount > 0;
    }

    private void defer(ScsiTask t) {
        deferred[deferredCount++] = t;
    }

    /** This nexus sent the LOGICAL UNIT RESET: it gets no unit attention for it (the others do). */
    public void acknowledgeReset() {
        seenResetGeneration = lun.resetGeneration();
    }

    /** Sets a unit attention for this nexus (e.g. after a reset done through another path). */
    public void raiseUnitAttention(int ascq) {
        unitAttention = ascq;
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Runs a command; completes the task (maybe inline). */
    public void execute(ScsiTask t) {
        int op = t.cdbByte(0);
        t.opcode = op;
        if (lun.resetGeneration() != seenResetGeneration) {
            seenResetGeneration = lun.resetGeneration();
            unitAttention = Sense.BUS_DEVICE_RESET;
        }
        if (unitAttention != 0 && op != Cdb.INQUIRY && op != Cdb.REPORT_LUNS && op != Cdb.REQUEST_SENSE) {
            int ua = unitAttention;
            unitAttention = 0;
            fail(t, Sense.UNIT_ATTENTION, ua);
            return;
        }
        SanitizeOperation sanitize = lun.sanitize;
        if (sanitize != null && sanitize.refuses(this, t, op, access(op) != Reservations.Access.NONE)) {
            return;
        }
        if (!checkControlByte(t)) {
            return;
        }
        if (!lun.mediumPresent && needsMedium(op)) {
            fail(t, Sense.NOT_READY, Sense.MEDIUM_NOT_PRESENT);
            return;
        }
        Reservations.Access access = access(op);
        if (access != Reservations.Access.NONE ? lun.reservations().conflicts(nexus, access)
                : legacyBlocked(op) && lun.reservations().legacyConflict(nexus)) {
            t.status = ScsiStatus.RESERVATION_CONFLICT;
            t.scsiComplete();
            return;
        }
        if (access == Reservations.Access.WRITE && op != Cdb.SANITIZE && lun.allDeallocated) {
            lun.allDeallocated = false; // written blocks are mapped: GET LBA STATUS no longer knows better
        }
        switch (op) {
            case Cdb.READ_6 -> {
                long lba = ((t.cdbByte(1) & 0x1f) << 16) | t.cdbU16(2);
                int n = t.cdbByte(4);
                readWrite(t, lba, n == 0 ? 256 : n, false, false);
            }
            case Cdb.WRITE_6 -> {
                long lba = ((t.cdbByte(1) & 0x1f) << 16) | t.cdbU16(2);
                int n = t.cdbByte(4);
                readWrite(t, lba, n == 0 ? 256 : n, true, false);
            }
            case Cdb.READ_10 -> rw10(t, false);
            case Cdb.WRITE_10 -> rw10(t, true);
            case Cdb.READ_12 -> rw12(t, false);
            case Cdb.WRITE_12 -> rw12(t, true);
            case Cdb.READ_16 -> rw16(t, false);
            case Cdb.WRITE_16 -> rw16(t, true);
            case Cdb.WRITE_ATOMIC_16 -> writeAtomic16(t);
            case Cdb.WRITE_VERIFY_10 -> writeVerify(t, t.cdbU32(2), t.cdbU16(7));
            case Cdb.WRITE_VERIFY_12 -> writeVerify(t, t.cdbU32(2), t.cdbU32(6));
            case Cdb.WRITE_VERIFY_16 -> writeVerify(t, t.cdbU64(2), t.cdbU32(10));
            case Cdb.VERIFY_10 -> verify(t, t.cdbU32(2), t.cdbU16(7));
            case Cdb.VERIFY_12 -> verify(t, t.cdbU32(2), t.cdbU32(6));
            case Cdb.VERIFY_16 -> verify(t, t.cdbU64(2), t.cdbU32(10));
            case Cdb.PRE_FETCH_10 -> prefetch(t, t.cdbU32(2), t.cdbU16(7));
            case Cdb.PRE_FETCH_16 -> prefetch(t, t.cdbU64(2), t.cdbU32(10));
            case Cdb.SYNCHRONIZE_CACHE_10 -> synchronizeCache(t, t.cdbU32(2), t.cdbU16(7));
            case Cdb.SYNCHRONIZE_CACHE_16 -> synchronizeCache(t, t.cdbU64(2), t.cdbU32(10));
            case Cdb.WRITE_SAME_10 -> writeSame(t, t.cdbU32(2), t.cdbU16(7), false);
            case Cdb.WRITE_SAME_16 -> writeSame(t, t.cdbU64(2), t.cdbU32(10), (t.cdbByte(1) & 0x01) != 0);
            case Cdb.UNMAP -> unmap(t);
            case Cdb.COMPARE_AND_WRITE -> compareAndWrite(t);
            case Cdb.ORWRITE_16 -> orWrite(t);
            case Cdb.TEST_UNIT_READY -> good(t);
            case Cdb.REQUEST_SENSE -> requestSense(t);
            case Cdb.INQUIRY -> inquiry(t);
            case Cdb.READ_CAPACITY_10 -> readCapacity10(t);
            case Cdb.SERVICE_ACTION_IN_16 -> serviceActionIn(t);
            case Cdb.MAINTENANCE_IN -> maintenanceIn(t);
            case Cdb.REPORT_LUNS -> reportLuns(t);
            case Cdb.MODE_SENSE_6 -> modeSense(t, false);
            case Cdb.MODE_SENSE_10 -> modeSense(t, true);
            case Cdb.MODE_SELECT_6 -> modeSelect(t, false);
            case Cdb.MODE_SELECT_10 -> modeSelect(t, true);
            case Cdb.START_STOP_UNIT -> startStopUnit(t);
            case Cdb.PREVENT_ALLOW -> preventAllow(t);
            case Cdb.RESERVE_6, Cdb.RESERVE_10 -> reserve(t);
            case Cdb.RELEASE_6, Cdb.RELEASE_10 -> release(t);
            case Cdb.PERSISTENT_RESERVE_IN -> persistentReserveIn(t);
            case Cdb.PERSISTENT_RESERVE_OUT -> persistentReserveOut(t);
            case Cdb.READ_DEFECT_DATA_10 -> readDefectData(t, false);
            case Cdb.READ_DEFECT_DATA_12 -> readDefectData(t, true);
            case Cdb.SANITIZE -> SanitizeCommand.execute(this, t, lun);
            case Cdb.EXTENDED_COPY -> new ExtendedCopy(this, t).execute();
            case Cdb.RECEIVE_COPY_RESULTS -> copyResults().receive(this, t);
            default -> fail(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_OPCODE);
        }
    }

    /** NACA (bit 2 of the control byte) is not supported: INVALID FIELD IN CDB. */
    private boolean checkControlByte(ScsiTask t) {
        int len = cdbLength(t.opcode);
        if (len > 0 && (t.cdbByte(len - 1) & 0x04) != 0) {
            invalidField(t, len - 1, 2);
            return false;
        }
        return true;
    }

    private static int cdbLength(int op) {
        int group = op >>> 5;
        return switch (group) {
            case 0 -> 6;
            case 1, 2 -> 10;
            case 4 -> 16;
            case 5 -> 12;
            default -> 0;
        };
    }

    private static Reservations.Access access(int op) {
        return switch (op) {
            case Cdb.READ_6, Cdb.READ_10, Cdb.READ_12, Cdb.READ_16, Cdb.VERIFY_10, Cdb.VERIFY_12, Cdb.VERIFY_16,
                 Cdb.PRE_FETCH_10, Cdb.PRE_FETCH_16 -> Reservations.Access.READ;
            case Cdb.WRITE_6, Cdb.WRITE_10, Cdb.WRITE_12, Cdb.WRITE_16, Cdb.WRITE_VERIFY_10, Cdb.WRITE_VERIFY_12,
                 Cdb.WRITE_VERIFY_16, Cdb.WRITE_SAME_10, Cdb.WRITE_SAME_16, Cdb.UNMAP, Cdb.COMPARE_AND_WRITE,
                 Cdb.ORWRITE_16, Cdb.WRITE_ATOMIC_16, Cdb.SYNCHRONIZE_CACHE_10, Cdb.SYNCHRONIZE_CACHE_16,
                 Cdb.MODE_SELECT_6, Cdb.MODE_SELECT_10, Cdb.EXTENDED_COPY, Cdb.SANITIZE -> Reservations.Access.WRITE;
            default -> Reservations.Access.NONE;
        };
    }

    /** Commands that fail with MEDIUM NOT PRESENT while a removable medium is ejected. */
    private static boolean needsMedium(int op) {
        return access(op) != Reservations.Access.NONE || op == Cdb.TEST_UNIT_READY || op == Cdb.READ_CAPACITY_10
                || op == Cdb.SERVICE_ACTION_IN_16;
    }

    /** Commands an SPC-2 reservation held by another nexus blocks (besides media access). */
    private static boolean legacyBlocked(int op) {
        return switch (op) {
            case Cdb.INQUIRY, Cdb.REPORT_LUNS, Cdb.REQUEST_SENSE, Cdb.RELEASE_6, Cdb.RELEASE_10,
                 Cdb.PERSISTENT_RESERVE_IN, Cdb.PERSISTENT_RESERVE_OUT, Cdb.MAINTENANCE_IN,
                 Cdb.SERVICE_ACTION_IN_16, Cdb.READ_CAPACITY_10 -> false;
            default -> true;
        };
    }

    // ---- completion helpers ----

    private void good(ScsiTask t) {
        t.status = ScsiStatus.GOOD;
        t.scsiComplete();
    }

    private void fail(ScsiTask t, int key, int ascq) {
        failWith(t, key, ascq, -1, -1, -1, true);
    }

    private void invalidField(ScsiTask t, int fieldByte, int bit) {
        failWith(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_CDB, -1, fieldByte, bit, true);
    }

    private void invalidParameter(ScsiTask t, int fieldByte, int bit) {
        failWith(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_PARAMETER_LIST, -1, fieldByte, bit, false);
    }

    void failWith(ScsiTask t, int key, int ascq, long info, int fieldByte, int bit, boolean inCdb) {
        t.status = ScsiStatus.CHECK_CONDITION;
        t.senseLength = Sense.write(t.sense, lun.descriptorSense, key, ascq, info, fieldByte, bit, inCdb);
        if (t.dataIn) {
            t.transferred = 0;
        }
        t.scsiComplete();
    }

    /** Completes a data-in command that produced {@code length} bytes, truncated to the allocation length. */
    private void dataIn(ScsiTask t, int length, long allocationLength) {
        t.transferred = (int) Math.min(length, allocationLength);
        t.status = ScsiStatus.GOOD;
        t.scsiComplete();
    }

    private boolean outOfRange(ScsiTask t, long lba, long blocks) {
        long n = lun.numBlocks();
        if (lba < 0 || lba > n || blocks > n - lba) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.LBA_OUT_OF_RANGE);
            return true;
        }
        return false;
    }

    private boolean writeProtected(ScsiTask t) {
        if (lun.readOnly() || lun.softwareWriteProtect) {
            fail(t, Sense.DATA_PROTECT, Sense.WRITE_PROTECTED);
            return true;
        }
        return false;
    }

    /** Data-out commands: the initiator must send exactly what the CDB asks (an overflow is refused). */
    private boolean dataOutShort(ScsiTask t, long bytes) {
        t.transferred = (int) bytes;
        if (t.expectedLength < bytes || t.dataOutLength < bytes) {
            failWith(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_INFORMATION_UNIT, -1, -1, -1, true);
            return true;
        }
        return false;
    }

    // ---- READ / WRITE ----

    private void rw10(ScsiTask t, boolean write) {
        if (!checkProtect(t)) {
            return;
        }
        readWrite(t, t.cdbU32(2), t.cdbU16(7), write, (t.cdbByte(1) & 0x08) != 0);
    }

    private void rw12(ScsiTask t, boolean write) {
        if (!checkProtect(t)) {
            return;
        }
        readWrite(t, t.cdbU32(2), t.cdbU32(6), write, (t.cdbByte(1) & 0x08) != 0);
    }

    private void rw16(ScsiTask t, boolean write) {
        if (!checkProtect(t)) {
            return;
        }
        readWrite(t, t.cdbU64(2), t.cdbU32(10), write, (t.cdbByte(1) & 0x08) != 0);
    }

    private void writeAtomic16(ScsiTask t) {
        if (!checkProtect(t)) {
            return;
        }
        // WRITE ATOMIC(16): LBA in 2..9, NUMBER OF LOGICAL BLOCKS in 12..13. One bdev write is atomic here.
        readWrite(t, t.cdbU64(2), t.cdbU16(12), true, (t.cdbByte(1) & 0x08) != 0);
    }

    /** RDPROTECT/WRPROTECT/VRPROTECT (byte 1 bits 5-7): no protection information, so only 0 is valid. */
    private boolean checkProtect(ScsiTask t) {
        if ((t.cdbByte(1) & 0xe0) != 0) {
            invalidField(t, 1, 7);
            return false;
        }
        return true;
    }

    private void readWrite(ScsiTask t, long lba, long blocks, boolean write, boolean fua) {
        if (write && writeProtected(t)) {
            return;
        }
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        if (blocks > lun.maxTransferBlocks()) {
            invalidField(t, t.opcode == Cdb.READ_6 || t.opcode == Cdb.WRITE_6 ? 4 : 7, -1);
            return;
        }
        long bytes = blocks * blockSize;
        if (write) {
            t.transferred = (int) bytes;
            if (t.expectedLength < bytes || t.dataOutLength < bytes) {
                // EDTL < SPDTL: write only the whole blocks the initiator sent (FCP-4 / SAM-5: residual overflow).
                blocks = Math.min(t.expectedLength, t.dataOutLength) / blockSize;
            }
        } else if (t.ensureBuffer(bytes) == null) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (blocks == 0) {
            good(t);
            return;
        }
        t.lba = lba;
        t.blocks = blocks;
        t.fua = fua && write && lun.bdev().writeCache();
        t.step = write ? STEP_WRITE : STEP_READ;
        resume(t);
    }

    // Steps of multi-step commands (ScsiTask.step).
    private static final int STEP_READ = 1, STEP_WRITE = 2, STEP_FLUSH = 3, STEP_VERIFY_READ = 4,
            STEP_CAW_READ = 5, STEP_CAW_WRITE = 6, STEP_ORWRITE_READ = 7, STEP_ORWRITE_WRITE = 8,
            STEP_WRITE_SAME = 9, STEP_UNMAP = 10, STEP_WRITE_ZEROES = 11, STEP_SYNC = 12;

    /** Submits the bdev I/O of the task's current step; defers it when the bdev is out of ios. */
    private void resume(ScsiTask t) {
        if (t.aborted) { // aborted while deferred
            endAborted(t);
            return;
        }
        int rc;
        MemorySegment buf = t.buffer();
        switch (t.step) {
            case STEP_READ -> rc = desc.read(ch, buf, t.lba, t.blocks, this, t);
            case STEP_WRITE -> rc = desc.write(ch, buf, t.lba, t.blocks, this, t);
            case STEP_FLUSH, STEP_SYNC -> rc = desc.flush(ch, t.lba, t.blocks, this, t);
            case STEP_VERIFY_READ -> rc = desc.read(ch, buf.asSlice(t.cursor), t.lba, t.blocks, this, t);
            case STEP_CAW_READ, STEP_ORWRITE_READ -> {
                if (t.aux == 0) {
                    if (!lun.compareAndWriteBusy.compareAndSet(false, true)) {
                        defer(t);
                        return;
                    }
                    t.aux = 1;
                }
                rc = desc.read(ch, buf.asSlice(t.cursor), t.lba, t.blocks, this, t);
            }
            case STEP_CAW_WRITE -> rc = desc.write(ch, buf.asSlice(t.blocks * blockSize), t.lba, t.blocks, this, t);
            case STEP_ORWRITE_WRITE -> rc = desc.write(ch, buf, t.lba, t.blocks, this, t);
            case STEP_WRITE_SAME -> {
                long n = Math.min(t.blocks - t.cursor, WriteSameFill.chunkBlocks(t, blockSize));
                rc = desc.write(ch, buf, t.lba + t.cursor, n, this, t);
            }
            case STEP_UNMAP -> rc = unmapNext(t);
            case STEP_WRITE_ZEROES -> rc = desc.writeZeroes(ch, t.lba, t.blocks, this, t);
            default -> throw new IllegalStateException("task step " + t.step);
        }
        if (rc == -Errno.ENOMEM) {
            defer(t);
        } else if (rc < 0) {
            ioFailed(t, rc == -Errno.EINVAL ? Sense.LBA_OUT_OF_RANGE : Sense.INTERNAL_TARGET_FAILURE,
                    rc == -Errno.EINVAL ? Sense.ILLEGAL_REQUEST : Sense.HARDWARE_ERROR);
        }
    }

    /**
     * Ends a command task management aborted, before its next step: an aborted command changes nothing more on the
     * medium (SAM-5 7.2: the function completes once the task has ended), so a WRITE SAME stops between chunks and a
     * COMPARE AND WRITE never writes. The transport drops the status.
     */
    private void endAborted(ScsiTask t) {
        ioFailed(t, Sense.NO_ADDITIONAL, Sense.ABORTED_COMMAND);
    }

    private void ioFailed(ScsiTask t, int ascq, int key) {
        releaseCawLock(t);
        fail(t, key, ascq);
    }

    private void releaseCawLock(ScsiTask t) {
        if ((t.step == STEP_CAW_READ || t.step == STEP_CAW_WRITE || t.step == STEP_ORWRITE_READ
                || t.step == STEP_ORWRITE_WRITE || t.step == STEP_FLUSH) && t.aux == 1) {
            t.aux = 0;
            lun.compareAndWriteBusy.set(false);
        }
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        ScsiTask t = (ScsiTask) cbArg;
        if (!success) {
            BdevIoStatus s = io.status();
            int key, ascq;
            if (s == BdevIoStatus.MISCOMPARE) {
                key = Sense.MISCOMPARE;
                ascq = Sense.MISCOMPARE_DURING_VERIFY;
            } else if (s == BdevIoStatus.ABORTED) {
                key = Sense.ABORTED_COMMAND;
                ascq = Sense.NO_ADDITIONAL;
            } else if (t.step == STEP_READ || t.step == STEP_VERIFY_READ || t.step == STEP_CAW_READ) {
                key = Sense.MEDIUM_ERROR;
                ascq = Sense.UNRECOVERED_READ_ERROR;
            } else {
                key = Sense.MEDIUM_ERROR;
                ascq = Sense.WRITE_ERROR;
            }
            ioFailed(t, ascq, key);
            return;
        }
        if (t.aborted) {
            endAborted(t);
            return;
        }
        switch (t.step) {
            case STEP_READ -> {
                t.transferred = (int) (t.blocks * blockSize);
                good(t);
            }
            case STEP_WRITE, STEP_ORWRITE_WRITE, STEP_CAW_WRITE -> {
                if (t.fua) {
                    t.step = STEP_FLUSH;
                    resume(t);
                } else {
                    releaseCawLock(t);
                    good(t);
                }
            }
            case STEP_FLUSH, STEP_SYNC, STEP_WRITE_ZEROES -> {
                releaseCawLock(t);
                good(t);
            }
            case STEP_VERIFY_READ -> verifyCompare(t);
            case STEP_CAW_READ -> cawCompare(t);
            case STEP_ORWRITE_READ -> orWriteMerge(t);
            case STEP_WRITE_SAME -> {
                t.cursor += Math.min(t.blocks - t.cursor, WriteSameFill.chunkBlocks(t, blockSize));
                if (t.cursor < t.blocks) {
                    resume(t);
                } else if (t.fua) {
                    t.step = STEP_FLUSH;
                    resume(t);
                } else {
                    good(t);
                }
            }
            case STEP_UNMAP -> {
                t.aux++;
                if (t.aux < t.blocks) {
                    resume(t);
                } else {
                    good(t);
                }
            }
            default -> throw new IllegalStateException("task step " + t.step);
        }
    }

    // ---- WRITE AND VERIFY, VERIFY ----

    private void writeVerify(ScsiTask t, long lba, long blocks) {
        if (!checkProtect(t)) {
            return;
        }
        // BYTCHK only asks to compare what was just written with itself: a durable write is the verification.
        readWrite(t, lba, blocks, true, lun.bdev().writeCache());
    }

    private void verify(ScsiTask t, long lba, long blocks) {
        if (!checkProtect(t)) {
            return;
        }
        int bytchk = (t.cdbByte(1) >>> 1) & 0x03;
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        if (blocks > lun.maxTransferBlocks()) {
            invalidField(t, t.opcode == Cdb.VERIFY_10 ? 7 : t.opcode == Cdb.VERIFY_12 ? 6 : 10, -1);
            return;
        }
        if (bytchk == 0 || blocks == 0) {
            t.transferred = 0;
            good(t);
            return;
        }
        if (bytchk == 2) {
            invalidField(t, 1, 2);
            return;
        }
        long bytes = bytchk == 3 ? blockSize : blocks * blockSize;
        if (dataOutShort(t, bytes)) {
            return;
        }
        long total = blocks * blockSize;
        if (t.ensureBuffer(bytes + total) == null) {
            invalidField(t, 7, -1);
            return;
        }
        t.lba = lba;
        t.blocks = blocks;
        t.cursor = bytes;
        t.aux = bytchk;
        t.step = STEP_VERIFY_READ;
        resume(t);
    }

    private void verifyCompare(ScsiTask t) {
        MemorySegment buf = t.buffer();
        long total = t.blocks * blockSize;
        long miscompare = -1;
        for (long i = 0; i < total; i++) {
            long expect = t.aux == 3 ? i % blockSize : i;
            if (buf.get(JAVA_BYTE, expect) != buf.get(JAVA_BYTE, t.cursor + i)) {
                miscompare = i;
                break;
            }
        }
        t.transferred = (int) t.cursor;
        if (miscompare >= 0) {
            failWith(t, Sense.MISCOMPARE, Sense.MISCOMPARE_DURING_VERIFY, miscompare, -1, -1, true);
        } else {
            good(t);
        }
    }

    // ---- COMPARE AND WRITE, ORWRITE ----

    private void compareAndWrite(ScsiTask t) {
        if (!checkProtect(t) || writeProtected(t)) {
            return;
        }
        long lba = t.cdbU64(2);
        int blocks = t.cdbByte(13);
        if (blocks > ScsiLun.MAX_COMPARE_AND_WRITE_BLOCKS) {
            invalidField(t, 13, -1);
            return;
        }
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        long bytes = 2L * blocks * blockSize;
        t.transferred = (int) bytes;
        if (t.expectedLength != bytes || t.dataOutLength != bytes) {
            invalidField(t, 13, -1);
            return;
        }
        if (blocks == 0) {
            good(t);
            return;
        }
        if (t.ensureBuffer(3L * blocks * blockSize) == null) {
            invalidField(t, 13, -1);
            return;
        }
        t.lba = lba;
        t.blocks = blocks;
        t.cursor = bytes;
        t.fua = (t.cdbByte(1) & 0x08) != 0 && lun.bdev().writeCache();
        t.aux = 0;
        t.step = STEP_CAW_READ;
        resume(t);
    }

    private void cawCompare(ScsiTask t) {
        MemorySegment buf = t.buffer();
        long len = t.blocks * blockSize;
        long miscompare = -1;
        for (long i = 0; i < len; i += 8) {
            if (buf.get(JAVA_LONG_UNALIGNED, i) != buf.get(JAVA_LONG_UNALIGNED, t.cursor + i)) {
                for (long j = i; j < i + 8; j++) {
                    if (buf.get(JAVA_BYTE, j) != buf.get(JAVA_BYTE, t.cursor + j)) {
                        miscompare = j;
                        break;
                    }
                }
                break;
            }
        }
        if (miscompare >= 0) {
            releaseCawLock(t);
            failWith(t, Sense.MISCOMPARE, Sense.MISCOMPARE_DURING_VERIFY, miscompare, -1, -1, true);
            return;
        }
        t.step = STEP_CAW_WRITE;
        resume(t);
    }

    private void orWrite(ScsiTask t) {
        if (!checkProtect(t) || writeProtected(t)) {
            return;
        }
        long lba = t.cdbU64(2);
        long blocks = t.cdbU32(10);
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        if (blocks > lun.maxTransferBlocks()) {
            invalidField(t, 10, -1);
            return;
        }
        long bytes = blocks * blockSize;
        if (dataOutShort(t, bytes)) {
            return;
        }
        if (blocks == 0) {
            good(t);
            return;
        }
        if (t.ensureBuffer(2 * bytes) == null) {
            invalidField(t, 10, -1);
            return;
        }
        t.lba = lba;
        t.blocks = blocks;
        t.cursor = bytes;
        t.fua = (t.cdbByte(1) & 0x08) != 0 && lun.bdev().writeCache();
        t.aux = 0;
        t.step = STEP_ORWRITE_READ;
        resume(t);
    }

    private void orWriteMerge(ScsiTask t) {
        MemorySegment buf = t.buffer();
        long len = t.blocks * blockSize;
        for (long i = 0; i < len; i += 8) {
            buf.set(JAVA_LONG_UNALIGNED, i, buf.get(JAVA_LONG_UNALIGNED, i) | buf.get(JAVA_LONG_UNALIGNED, t.cursor + i));
        }
        t.step = STEP_ORWRITE_WRITE;
        resume(t);
    }

    // ---- PRE-FETCH, SYNCHRONIZE CACHE ----

    private void prefetch(ScsiTask t, long lba, long blocks) {
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        good(t);
    }

    private void synchronizeCache(ScsiTask t, long lba, long blocks) {
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        if (!lun.bdev().writeCache() || !lun.bdev().supportsIoType(IoType.FLUSH)) {
            good(t);
            return;
        }
        t.lba = lba;
        t.blocks = blocks == 0 ? lun.numBlocks() - lba : blocks;
        t.aux = 0;
        t.step = STEP_SYNC;
        if (t.blocks == 0) {
            good(t);
            return;
        }
        resume(t);
    }

    // ---- WRITE SAME, UNMAP ----

    private void writeSame(ScsiTask t, long lba, long blocks, boolean ndob) {
        if (!checkProtect(t) || writeProtected(t)) {
            return;
        }
        boolean unmapBit = (t.cdbByte(1) & 0x08) != 0;
        boolean anchor = (t.cdbByte(1) & 0x10) != 0;
        if (anchor) {
            invalidField(t, 1, 4);
            return;
        }
        if (unmapBit && !lun.thinProvisioned()) {
            invalidField(t, 1, 3); // UNMAP needs logical block provisioning (LBPME), which this LUN lacks
            return;
        }
        if (lba > lun.numBlocks()) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.LBA_OUT_OF_RANGE);
            return;
        }
        if (blocks == 0) {
            blocks = lun.numBlocks() - lba;
        }
        if (outOfRange(t, lba, blocks)) {
            return;
        }
        long expect = ndob ? 0 : blockSize;
        t.transferred = (int) expect;
        if (t.expectedLength != expect || t.dataOutLength != expect) {
            failWith(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_FIELD_IN_CDB, -1, -1, -1, true);
            return;
        }
        boolean zero = ndob || WriteSameFill.isZero(t.buffer(), blockSize);
        t.lba = lba;
        t.blocks = blocks;
        t.cursor = 0;
        t.aux = 0;
        t.fua = false;
        if (blocks == 0) {
            good(t);
            return;
        }
        if (unmapBit && lun.thinProvisioned()) {
            // UNMAP: the blocks are deallocated (they read back as zeroes: LBPRZ) whatever the data block holds.
            t.step = STEP_UNMAP;
            t.aux = 0;
            // One range: blocks = 1 descriptor; the range is kept in lba/cursor.
            t.cursor = -1;
            t.blocks = 1;
            t.rangeLba = lba;
            t.rangeBlocks = blocks;
            resume(t);
            return;
        }
        if (zero && lun.bdev().supportsIoType(IoType.WRITE_ZEROES)) {
            t.step = STEP_WRITE_ZEROES;
            resume(t);
            return;
        }
        if (!WriteSameFill.fill(t, blockSize, blocks)) {
            invalidField(t, 7, -1);
            return;
        }
        t.step = STEP_WRITE_SAME;
        resume(t);
    }

    private void unmap(ScsiTask t) {
        if (writeProtected(t)) {
            return;
        }
        if (!lun.thinProvisioned()) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_OPCODE);
            return;
        }
        if ((t.cdbByte(1) & 0x01) != 0) { // ANCHOR
            invalidField(t, 1, 0);
            return;
        }
        int paramLen = t.cdbU16(7);
        t.transferred = paramLen;
        if (paramLen == 0) {
            good(t);
            return;
        }
        if (paramLen < 8 || t.dataOutLength < paramLen) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR);
            return;
        }
        MemorySegment buf = t.buffer();
        int descLen = get16(buf, 2);
        int count = Math.min(descLen, paramLen - 8) / 16;
        if (count > ScsiLun.MAX_UNMAP_DESCRIPTORS) {
            invalidParameter(t, 2, -1);
            return;
        }
        long n = lun.numBlocks();
        for (int i = 0; i < count; i++) {
            long lba = get64(buf, 8 + 16L * i);
            long blocks = get32(buf, 16 + 16L * i);
            if (lba > n || blocks > n - lba) {
                fail(t, Sense.ILLEGAL_REQUEST, Sense.LBA_OUT_OF_RANGE);
                return;
            }
        }
        if (count == 0) {
            good(t);
            return;
        }
        t.step = STEP_UNMAP;
        t.blocks = count;
        t.aux = 0;
        t.cursor = 0;
        resume(t);
    }

    /** Unmaps descriptor {@code t.aux} (or the WRITE SAME range when cursor is -1); empty ones complete at once. */
    private int unmapNext(ScsiTask t) {
        while (true) {
            long lba, blocks;
            if (t.cursor < 0) {
                lba = t.rangeLba;
                blocks = t.rangeBlocks;
            } else {
                lba = get64(t.buffer(), 8 + 16L * t.aux);
                blocks = get32(t.buffer(), 16 + 16L * t.aux);
            }
            if (blocks > 0) {
                return desc.unmap(ch, lba, blocks, this, t);
            }
            t.aux++;
            if (t.aux >= t.blocks) {
                good(t);
                return 0;
            }
        }
    }

    // ---- informational commands ----

    private void requestSense(ScsiTask t) {
        int alloc = t.cdbByte(4);
        boolean desc = (t.cdbByte(1) & 0x01) != 0;
        MemorySegment out = t.ensureBuffer(Sense.MAX_LENGTH);
        SanitizeOperation sanitize = lun.sanitize;
        if (sanitize != null && sanitize.running()) {
            dataIn(t, Sense.writeProgress(out, desc, Sense.NOT_READY, Sense.SANITIZE_IN_PROGRESS, sanitize.progress()), alloc);
            return;
        }
        int ua = unitAttention;
        unitAttention = 0;
        int len = Sense.write(out, desc, ua != 0 ? Sense.UNIT_ATTENTION : Sense.NO_SENSE, ua, -1, -1, -1, true);
        dataIn(t, len, alloc);
    }

    private void inquiry(ScsiTask t) {
        int evpd = t.cdbByte(1) & 0x01;
        int page = t.cdbByte(2);
        int alloc = t.cdbU16(3);
        if ((t.cdbByte(1) & 0xfe) != 0) {
            invalidField(t, 1, -1);
            return;
        }
        MemorySegment out = t.ensureBuffer(1024);
        int len;
        if (evpd == 0) {
            if (page != 0) {
                invalidField(t, 2, -1);
                return;
            }
            len = SpcData.standardInquiry(out, lun);
        } else {
            len = SpcData.vpd(out, page, lun, nexus);
            if (len < 0) {
                invalidField(t, 2, -1);
                return;
            }
        }
        dataIn(t, len, alloc);
    }

    private void readCapacity10(ScsiTask t) {
        if ((t.cdbByte(8) & 0x01) == 0 && t.cdbU32(2) != 0) { // PMI 0 requires LBA 0
            invalidField(t, 2, -1);
            return;
        }
        MemorySegment out = t.ensureBuffer(8);
        dataIn(t, SpcData.readCapacity10(out, lun), 8);
    }

    private void serviceActionIn(ScsiTask t) {
        int sa = t.cdbByte(1) & 0x1f;
        long alloc = t.cdbU32(10);
        switch (sa) {
            case Cdb.SA_READ_CAPACITY_16 -> {
                MemorySegment out = t.ensureBuffer(32);
                dataIn(t, SpcData.readCapacity16(out, lun), alloc);
            }
            case Cdb.SA_GET_LBA_STATUS -> {
                long lba = t.cdbU64(2);
                if (Long.compareUnsigned(lba, lun.numBlocks()) >= 0) {
                    fail(t, Sense.ILLEGAL_REQUEST, Sense.LBA_OUT_OF_RANGE);
                    return;
                }
                MemorySegment out = t.ensureBuffer(24);
                zero(out, 0, 24);
                u32(out, 0, 20);
                u64(out, 8, lba);
                long count = Math.min(lun.numBlocks() - lba, 0xffffffffL);
                u32(out, 16, count);
                // Deallocated only when known (after a BLOCK ERASE, before any write); else mapped or unknown.
                u8(out, 20, lun.allDeallocated ? 1 : 0);
                dataIn(t, 24, alloc);
            }
            default -> invalidField(t, 1, 4);
        }
    }

    private void maintenanceIn(ScsiTask t) {
        int sa = t.cdbByte(1) & 0x1f;
        if (sa != Cdb.SA_REPORT_SUPPORTED_OPCODES) {
            invalidField(t, 1, 4);
            return;
        }
        boolean rctd = (t.cdbByte(2) & 0x80) != 0;
        int options = t.cdbByte(2) & 0x07;
        int reqOp = t.cdbByte(3);
        int reqSa = t.cdbU16(4);
        long alloc = t.cdbU32(6);
        MemorySegment out = t.ensureBuffer(4 + Cdb.SUPPORTED.length * 20L + 64);
        if (options == 0) {
            int per = rctd ? 20 : 8;
            int off = 4;
            for (int[] c : Cdb.SUPPORTED) {
                zero(out, off, per);
                u8(out, off, c[0]);
                u16(out, off + 2, Math.max(c[1], 0));
                u8(out, off + 5, (rctd ? 0x02 : 0) | (c[1] >= 0 ? 0x01 : 0));
                u16(out, off + 6, c[2]);
                if (rctd) {
                    u16(out, off + 8, 0x0a);
                }
                off += per;
            }
            u32(out, 0, off - 4);
            dataIn(t, off, alloc);
            return;
        }
        if (options > 3) {
            invalidField(t, 2, 2);
            return;
        }
        int[] found = null;
        boolean opHasSa = false;
        for (int[] c : Cdb.SUPPORTED) {
            if (c[0] == reqOp) {
                opHasSa = c[1] >= 0;
                if (options == 1 || (options == 3 && c[1] < 0)) {
                    if (c[1] < 0) {
                        found = c;
                    }
                } else if (c[1] == reqSa) {
                    found = c;
                }
            }
        }
        if ((options == 1 && opHasSa) || (options == 2 && !opHasSa && found == null && isKnownOpcode(reqOp))) {
            invalidField(t, 2, 2);
            return;
        }
        int len = found == null ? 0 : found[2];
        zero(out, 0, 4 + len + 12);
        u8(out, 1, (found == null ? 0x01 : 0x03) | (rctd && found != null ? 0x80 : 0));
        u16(out, 2, len);
        if (found != null) {
            Cdb.usage(out, 4, found[0], found[1], len);
        }
        int total = 4 + len;
        if (rctd && found != null) {
            u16(out, total, 0x0a);
            total += 12;
        }
        dataIn(t, total, alloc);
    }

    private static boolean isKnownOpcode(int op) {
        for (int[] c : Cdb.SUPPORTED) {
            if (c[0] == op) {
                return true;
            }
        }
        return false;
    }

    private void reportLuns(ScsiTask t) {
        int select = t.cdbByte(2);
        long alloc = t.cdbU32(6);
        if (select > 2 && select != 0x10 && select != 0x11 && select != 0x12) {
            invalidField(t, 2, -1);
            return;
        }
        if (alloc < 16) {
            invalidField(t, 6, -1);
            return;
        }
        int[] ids = lunMap.lunIds();
        boolean wellKnownOnly = select == 1 || select == 0x11;
        int n = wellKnownOnly ? 0 : ids.length;
        MemorySegment out = t.ensureBuffer(8 + 8L * n);
        zero(out, 0, 8 + 8L * n);
        u32(out, 0, 8L * n);
        for (int i = 0; i < n; i++) {
            int id = ids[i];
            if (id < 256) {
                u8(out, 8 + 8L * i + 1, id);          // peripheral device addressing
            } else {
                u16(out, 8 + 8L * i, 0x4000 | id);    // flat space addressing
            }
        }
        dataIn(t, 8 + 8 * n, alloc);
    }

    private void modeSense(ScsiTask t, boolean ten) {
        boolean dbd = (t.cdbByte(1) & 0x08) != 0;
        boolean llbaa = ten && (t.cdbByte(1) & 0x10) != 0;
        int pc = t.cdbByte(2) >>> 6;
        int page = t.cdbByte(2) & 0x3f;
        int subpage = t.cdbByte(3);
        long alloc = ten ? t.cdbU16(7) : t.cdbByte(4);
        if (pc == 3) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.SAVING_PARAMETERS_NOT_SUPPORTED);
            return;
        }
        if (subpage != 0 && !(subpage == 0xff && page == SpcData.PAGE_ALL)) {
            invalidField(t, 3, -1);
            return;
        }
        MemorySegment out = t.ensureBuffer(512);
        int header = ten ? 8 : 4;
        zero(out, 0, header);
        int off = header;
        if (!dbd) {
            if (llbaa) {
                zero(out, off, 16);
                u64(out, off, lun.numBlocks());
                u32(out, off + 12, blockSize);
                off += 16;
            } else {
                zero(out, off, 8);
                long nb = lun.numBlocks();
                u32(out, off, nb > 0xffffffffL ? 0xffffffffL : nb);
                u32(out, off + 4, blockSize);
                off += 8;
            }
        }
        int bdLen = off - header;
        if (page == SpcData.PAGE_ALL) {
            for (int p : SpcData.MODE_PAGES) {
                off += SpcData.modePage(out, off, p, pc, lun);
            }
        } else {
            int n = SpcData.modePage(out, off, page, pc, lun);
            if (n < 0) {
                invalidField(t, 2, 5);
                return;
            }
            off += n;
        }
        int devSpecific = 0x10 | (lun.readOnly() || lun.softwareWriteProtect ? 0x80 : 0); // DPOFUA, WP
        if (ten) {
            u16(out, 0, off - 2);
            u8(out, 3, devSpecific);
            u8(out, 4, llbaa && !dbd ? 0x01 : 0);
            u16(out, 6, bdLen);
        } else {
            u8(out, 0, off - 1);
            u8(out, 2, devSpecific);
            u8(out, 3, bdLen);
        }
        dataIn(t, off, alloc);
    }

    private void modeSelect(ScsiTask t, boolean ten) {
        int len = ten ? t.cdbU16(7) : t.cdbByte(4);
        boolean pf = (t.cdbByte(1) & 0x10) != 0;
        boolean sp = (t.cdbByte(1) & 0x01) != 0;
        t.transferred = len;
        if (sp) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.SAVING_PARAMETERS_NOT_SUPPORTED);
            return;
        }
        if (len == 0) {
            good(t);
            return;
        }
        if (!pf) {
            invalidField(t, 1, 4);
            return;
        }
        int header = ten ? 8 : 4;
        if (t.dataOutLength < len || len < header) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR);
            return;
        }
        MemorySegment buf = t.buffer();
        int bdLen = ten ? get16(buf, 6) : get8(buf, 3);
        int off = header + bdLen;
        boolean newDsense = lun.descriptorSense, newSwp = lun.softwareWriteProtect;
        while (off + 2 <= len) {
            int page = get8(buf, off) & 0x3f;
            boolean spf = (get8(buf, off) & 0x40) != 0;
            int plen = spf ? get16(buf, off + 2) + 4 : get8(buf, off + 1) + 2;
            if (off + plen > len) {
                fail(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR);
                return;
            }
            if (spf) {
                invalidParameter(t, off, 6);
                return;
            }
            switch (page) {
                case SpcData.PAGE_CONTROL -> {
                    if (plen != 12) {
                        invalidParameter(t, off + 1, -1);
                        return;
                    }
                    newDsense = (get8(buf, off + 2) & 0x04) != 0;
                    newSwp = (get8(buf, off + 4) & 0x08) != 0;
                }
                case SpcData.PAGE_CACHING, SpcData.PAGE_RW_ERROR_RECOVERY, SpcData.PAGE_INFORMATIONAL_EXCEPTIONS,
                     SpcData.PAGE_POWER_CONDITION -> {
                    // Accepted; their fields are not changeable here (the changeable mask says so).
                }
                default -> {
                    invalidParameter(t, off, 5);
                    return;
                }
            }
            off += plen;
        }
        lun.descriptorSense = newDsense;
        lun.softwareWriteProtect = newSwp;
        good(t);
    }

    private void startStopUnit(ScsiTask t) {
        int pc = t.cdbByte(4) >>> 4;
        boolean loej = (t.cdbByte(4) & 0x02) != 0;
        boolean start = (t.cdbByte(4) & 0x01) != 0;
        if (pc == 0 && loej && lun.removable()) {
            if (lun.removalPrevented()) {
                fail(t, Sense.ILLEGAL_REQUEST, Sense.MEDIUM_REMOVAL_PREVENTED);
                return;
            }
            if (!start) {
                lun.mediumPresent = false;
            } else {
                lun.mediumPresent = true;
            }
        }
        good(t);
    }

    private void preventAllow(ScsiTask t) {
        int prevent = t.cdbByte(4) & 0x03;
        if (prevent == 2 || prevent == 3) {
            invalidField(t, 4, 1); // changer prevention: no medium changer here
            return;
        }
        lun.prevent(nexus, prevent == 1);
        good(t);
    }

    private void reserve(ScsiTask t) {
        if (t.opcode == Cdb.RESERVE_10 && (t.cdbByte(1) & 0x02) != 0) { // 3RDPTY not supported
            invalidField(t, 1, 4);
            return;
        }
        if (lun.reservations().reserveLegacy(nexus) != Reservations.OK) {
            t.status = ScsiStatus.RESERVATION_CONFLICT;
            t.scsiComplete();
            return;
        }
        good(t);
    }

    private void release(ScsiTask t) {
        if (lun.reservations().releaseLegacy(nexus) != Reservations.OK) {
            t.status = ScsiStatus.RESERVATION_CONFLICT;
            t.scsiComplete();
            return;
        }
        good(t);
    }

    private void persistentReserveIn(ScsiTask t) {
        int sa = t.cdbByte(1) & 0x1f;
        int alloc = t.cdbU16(7);
        MemorySegment out = t.ensureBuffer(Math.max(alloc, 8));
        Reservations r = lun.reservations();
        int len = switch (sa) {
            case 0 -> r.readKeys(out, alloc);
            case 1 -> r.readReservation(out, alloc);
            case 2 -> r.reportCapabilities(out, alloc);
            case 3 -> r.readFullStatus(out, alloc);
            default -> -1;
        };
        if (len < 0) {
            invalidField(t, 1, 4);
            return;
        }
        dataIn(t, len, alloc);
    }

    private void persistentReserveOut(ScsiTask t) {
        int sa = t.cdbByte(1) & 0x1f;
        int type = t.cdbByte(2) & 0x0f;
        int scope = t.cdbByte(2) >>> 4;
        long paramLen = t.cdbU32(5);
        t.transferred = (int) paramLen;
        if (paramLen != 24) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR);
            return;
        }
        if (t.dataOutLength < 24) {
            fail(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR);
            return;
        }
        MemorySegment buf = t.buffer();
        long key = get64(buf, 0);
        long saKey = get64(buf, 8);
        int flags = get8(buf, 20);
        if ((flags & 0x01) != 0) { // APTPL: persistence through power loss not supported
            invalidParameter(t, 20, 0);
            return;
        }
        if ((flags & 0x0c) != 0) { // SPEC_I_PT, ALL_TG_PT
            invalidParameter(t, 20, (flags & 0x08) != 0 ? 3 : 2);
            return;
        }
        boolean needsType = sa == 1 || sa == 2 || sa == 4 || sa == 5;
        if (needsType && scope != 0) {
            invalidField(t, 2, 7);
            return;
        }
        Reservations r = lun.reservations();
        int rc = switch (sa) {
            case 0 -> r.register(nexus, key, saKey, false);
            case 1 -> r.reserve(nexus, key, type);
            case 2 -> r.release(nexus, key, type);
            case 3 -> r.clear(nexus, key);
            case 4, 5 -> r.preempt(nexus, key, saKey, type);
            case 6 -> r.register(nexus, key, saKey, true);
            default -> -1;
        };
        switch (rc) {
            case Reservations.OK -> good(t);
            case Reservations.CONFLICT -> {
                t.status = ScsiStatus.RESERVATION_CONFLICT;
                t.scsiComplete();
            }
            case Reservations.INVALID_FIELD_CDB -> invalidField(t, 2, 3);
            case Reservations.INVALID_FIELD_PARAMETERS -> invalidParameter(t, 8, -1);
            case Reservations.INVALID_RELEASE -> fail(t, Sense.ILLEGAL_REQUEST, Sense.INVALID_RELEASE_OF_PERSISTENT_RESERVATION);
            default -> invalidField(t, 1, 4);
        }
    }

    private void readDefectData(ScsiTask t, boolean twelve) {
        long alloc = twelve ? t.cdbU32(6) : t.cdbU16(7);
        int format = t.cdbByte(twelve ? 1 : 2) & 0x07;
        MemorySegment out = t.ensureBuffer(8);
        int len = twelve ? 8 : 4;
        zero(out, 0, len);
        u8(out, 1, (twelve ? t.cdbByte(1) & 0x18 : t.cdbByte(2) & 0x18) | format);
        // The defect list is empty; an empty list in the requested format.
        dataIn(t, len, alloc);
    }

    // ---- access for SanitizeCommand, ExtendedCopy and CopyResults ----

    /** The EXTENDED COPY results held for this I_T nexus (RECEIVE COPY RESULTS), created on first use. */
    private CopyResults copyResults;

    CopyResults copyResults() {
        if (copyResults == null) {
            copyResults = new CopyResults();
        }
        return copyResults;
    }

    LunMap lunMap() {
        return lunMap;
    }

    /** CHECK CONDITION whose sense carries a progress indication (a sanitize in progress). */
    void failWithProgress(ScsiTask t, int key, int ascq, int progress) {
        t.status = ScsiStatus.CHECK_CONDITION;
        t.senseLength = Sense.writeProgress(t.sense, lun.descriptorSense, key, ascq, progress);
        if (t.dataIn) {
            t.transferred = 0;
        }
        t.scsiComplete();
    }

    void completeDataIn(ScsiTask t, int length, long allocationLength) {
        dataIn(t, length, allocationLength);
    }

    BdevDesc desc() {
        return desc;
    }

    BdevChannel channel() {
        return ch;
    }

    ScsiNexus nexus() {
        return nexus;
    }

    int blockSize() {
        return blockSize;
    }

    void completeGood(ScsiTask t) {
        good(t);
    }

    void completeInvalidParameter(ScsiTask t, int fieldByte, int bit) {
        invalidParameter(t, fieldByte, bit);
    }

    void completeInvalidField(ScsiTask t, int fieldByte, int bit) {
        invalidField(t, fieldByte, bit);
    }

    void deferTask(ScsiTask t) {
        defer(t);
    }
}
