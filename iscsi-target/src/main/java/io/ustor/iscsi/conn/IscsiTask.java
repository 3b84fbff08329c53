package io.ustor.iscsi.conn;

import io.ustor.scsi.LunChannel;
import io.ustor.scsi.ScsiTask;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A SCSI command on one iSCSI connection: the SCSI task plus iSCSI state (tags, sequence numbers, Data-Out and
 * R2T progress, Data-In progress). Preallocated per connection and reused; its data buffer grows to the largest
 * transfer seen and is kept (with a ByteBuffer view for digests) so steady-state I/O allocates nothing.
 */
final class IscsiTask extends ScsiTask {
    /** Largest buffer a task keeps between commands (COMPARE AND WRITE of 255 4 KiB blocks needs 3 x 1 MiB). */
    static final long KEPT_BUFFER = 1L << 20;
    /** Largest transfer of one command: bigger ones than {@link #KEPT_BUFFER} get a buffer of their own, freed after. */
    static final long MAX_BUFFER = (64L << 20) + (1 << 20);

    private final Arena arena;
    /** SenseLength (2 bytes) + sense data: the data segment of a SCSI Response with sense. */
    private final MemorySegment senseData;
    private final ByteBuffer senseDataView;
    private MemorySegment buffer;
    private ByteBuffer view;
    /** The kept buffer while an oversize one (in its own arena) is in use. */
    private MemorySegment keptBuffer;
    private ByteBuffer keptView;
    private Arena oversize;
    final int index;

    boolean inUse;
    int itt;
    int cmdSn;
    boolean immediate;
    long lunField;
    LunChannel lun;
    /** The command is in the LU (bdev I/O may be in flight): the buffer must stay. */
    boolean executing;
    /** The response is queued or being sent. */
    boolean responding;

    // Data-Out collection.
    /** Bytes of data-out received so far (immediate + unsolicited + solicited). */
    int received;
    /** Bytes still expected in the current unsolicited burst (InitialR2T=No), 0 when none. */
    int unsolicitedLeft;
    /** Next buffer offset to request with an R2T, and the outstanding R2T count. */
    int nextR2tOffset;
    int outstandingR2t;
    int r2tSn;
    /** The current burst being received: TTT, its start, end and next expected DataSN and offset. */
    int burstTtt = -1;
    int burstEnd;
    int expectedDataSn;
    int expectedOffset;
    /** Bursts granted by R2T but whose R2T PDU is not built yet (queued for the sender). */
    int r2tToSend;

    // Data-In generation.
    int dataInOffset;
    int dataInSn;
    int dataInLimit;

    // Transmit queue link.
    int txKind;

    IscsiTask(Arena arena, int index) {
        super(arena);
        this.arena = arena;
        this.index = index;
        this.senseData = arena.allocate(2 + io.ustor.scsi.Sense.MAX_LENGTH + 2, 8);
        this.senseDataView = senseData.asByteBuffer();
    }

    MemorySegment senseSegment() {
        return senseData;
    }

    ByteBuffer senseView() {
        return senseDataView;
    }

    @Override
    public MemorySegment buffer() {
        return buffer;
    }

    ByteBuffer view() {
        return view;
    }

    @Override
    public MemorySegment ensureBuffer(long bytes) {
        if (buffer != null && buffer.byteSize() >= bytes) {
            return buffer;
        }
        if (bytes > MAX_BUFFER) {
            return null;
        }
        long size = 4096;
        while (size < bytes) {
            size <<= 1;
        }
        MemorySegment n;
        if (size > KEPT_BUFFER) {
            // A rare huge transfer: memory of its own, returned when the task is done.
            Arena a = Arena.ofShared();
            n = a.allocate(bytes, 4096);
            if (oversize == null) {
                keptBuffer = buffer;
                keptView = view;
                if (buffer != null) {
                    MemorySegment.copy(buffer, 0, n, 0, Math.min(buffer.byteSize(), n.byteSize()));
                }
                buffer = n;
                view = n.asByteBuffer();
                oversize = a;
                return n;
            } else {
                MemorySegment.copy(buffer, 0, n, 0, buffer.byteSize());
                buffer = n;
                view = n.asByteBuffer();
                oversize.close();
                oversize = a;
                return n;
            }
        } else {
            n = arena.allocate(size, 4096);
        }
        if (buffer != null) {
            MemorySegment.copy(buffer, 0, n, 0, buffer.byteSize());
        }
        buffer = n;
        view = n.asByteBuffer();
        return n;
    }

    @Override
    public void scsiComplete() {
        executing = false;
        owner.onScsiComplete(this);
    }

    IscsiConnection owner;

    /** Returns an oversize buffer's memory (the task is done with it). */
    void releaseOversize() {
        if (oversize != null) {
            oversize.close();
            oversize = null;
            buffer = keptBuffer;
            view = keptView;
            keptBuffer = null;
            keptView = null;
        }
    }

    void reset() {
        releaseOversize();
        resetOutcome();
        inUse = false;
        executing = false;
        responding = false;
        received = 0;
        unsolicitedLeft = 0;
        nextR2tOffset = 0;
        outstandingR2t = 0;
        r2tSn = 0;
        burstTtt = -1;
        burstEnd = 0;
        expectedDataSn = 0;
        expectedOffset = 0;
        r2tToSend = 0;
        dataInOffset = 0;
        dataInSn = 0;
        dataInLimit = 0;
        lun = null;
        dataOutLength = 0;
        txKind = 0;
    }
}
