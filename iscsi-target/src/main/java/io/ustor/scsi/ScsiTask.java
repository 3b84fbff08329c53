package io.ustor.scsi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * One SCSI command as the transport hands it to a logical unit, and its outcome. The transport (iSCSI) owns the
 * object and reuses it (preallocated per connection); the logical unit fills status, sense and data and calls
 * {@link #scsiComplete()} once, possibly inline from {@link LunChannel#execute}.
 */
public abstract class ScsiTask {
    public static final int MAX_CDB = 32;

    /** The CDB (up to {@link #MAX_CDB} bytes; {@link #cdbLength} are valid). */
    public final MemorySegment cdb;
    /** Sense data of a CHECK CONDITION, {@link #senseLength} bytes. */
    public final MemorySegment sense;
    public int cdbLength;
    /** The transport's expected data transfer length (iSCSI EDTL). */
    public int expectedLength;
    /** Direction bits from the transport: data flows to the target (write) / to the initiator (read). */
    public boolean dataOut, dataIn;
    /** Bytes of data-out in {@link #buffer()} (what the initiator sent). */
    public int dataOutLength;
    /** The I_T nexus that sent the command. */
    public ScsiNexus nexus;

    /** Outcome: SCSI status. */
    public int status;
    public int senseLength;
    /**
     * Outcome: the bytes the command itself wanted to transfer (SAM's SPDTL): for data-in commands what it produced
     * (bytes at the start of the buffer), for data-out commands what its CDB asked for. The transport compares it
     * with {@link #expectedLength} for residuals.
     */
    public int transferred;
    /** Set by task management: the command was aborted; its result is not reported. */
    public boolean aborted;

    // Execution state of multi-step commands, owned by the LunChannel that runs it.
    int opcode;
    int step;
    long lba, blocks, cursor;
    long rangeLba, rangeBlocks;
    boolean fua;
    int aux;

    protected ScsiTask(Arena arena) {
        this.cdb = arena.allocate(MAX_CDB, 8);
        this.sense = arena.allocate(Sense.MAX_LENGTH, 8);
    }

    /** The data buffer (data-out bytes on entry for writes; data-in bytes on completion). */
    public abstract MemorySegment buffer();

    /** Grows the data buffer to at least {@code bytes} (keeping its contents) and returns it; null if too large. */
    public abstract MemorySegment ensureBuffer(long bytes);

    /** Called once when the command is done (status, sense and data set). */
    public abstract void scsiComplete();

    /** Resets the outcome fields before a new command. */
    public void resetOutcome() {
        status = ScsiStatus.GOOD;
        senseLength = 0;
        transferred = 0;
        aborted = false;
        step = 0;
        aux = 0;
    }

    public int cdbByte(int i) {
        return cdb.get(JAVA_BYTE, i) & 0xff;
    }

    public int cdbU16(int i) {
        return (cdbByte(i) << 8) | cdbByte(i + 1);
    }

    public int cdbU24(int i) {
        return (cdbByte(i) << 16) | (cdbByte(i + 1) << 8) | cdbByte(i + 2);
    }

    public long cdbU32(int i) {
        return ((long) cdbByte(i) << 24) | (cdbByte(i + 1) << 16) | (cdbByte(i + 2) << 8) | cdbByte(i + 3);
    }

    public long cdbU64(int i) {
        return (cdbU32(i) << 32) | cdbU32(i + 4);
    }
}
