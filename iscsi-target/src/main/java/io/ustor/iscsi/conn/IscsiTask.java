package io.ustor.iscsi.conn;

import io.ustor.scsi.LunChannel;
import io.ustor.scsi.ScsiTask;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A SCSI command on one iSCSI connection: the SCSI task plus iSCSI state (tags, sequence numbers, Data-Out and
 * R2T progress, Data-In progress). Preallocated per connection and reused. Its data buffer comes from the
 * reactor's share of the iobuf pool when the transfer fits a pool buffer ({@link TaskBuffers}), else from memory
 * of its own that grows to the largest transfer seen and is kept, so steady-state I/O allocates nothing.
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
    /** Where pool buffers come from (this reactor's cache; maybe none). */
    private final TaskBuffers buffers;
    /** The current data buffer: {@link #pooled}, {@link #own}, or in {@link #oversize}; null before the first. */
    private MemorySegment buffer;
    private ByteBuffer view;
    /** The pool buffer in use, or null. */
    private MemorySegment pooled;
    /** The task's own memory (in the connection's arena), kept between commands once made. */
    private MemorySegment own;
    private ByteBuffer ownView;
    /** Memory of a transfer longer than {@link #KEPT_BUFFER}, closed when the task is done. */
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

    /** A task management function waiting for this aborted task to terminate, or null. */
    TaskSetAbort abortOp;
    /** Functions that reached the task after it was aborted (overlapping ones), also waiting; null when none. */
    private java.util.ArrayList<TaskSetAbort> laterAbortOps;

    /** {@code op} answers only after this (aborted, executing) task has terminated. */
    void awaitedBy(TaskSetAbort op) {
        if (abortOp == null) {
            abortOp = op;
        } else {
            if (laterAbortOps == null) {
                laterAbortOps = new java.util.ArrayList<>(2);
            }
            laterAbortOps.add(op);
        }
        op.expect();
    }

    /** The task has terminated: every function waiting for it is told. */
    void terminated() {
        TaskSetAbort op = abortOp;
        abortOp = null;
        java.util.ArrayList<TaskSetAbort> later = laterAbortOps;
        laterAbortOps = null;
        if (op != null) {
            op.done();
        }
        if (later != null) {
            later.forEach(TaskSetAbort::done);
        }
    }

    IscsiTask(Arena arena, int index, TaskBuffers buffers) {
        super(arena);
        this.arena = arena;
        this.index = index;
        this.buffers = buffers;
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

    /**
     * The buffer for a command's data, at least {@code bytes} long, keeping what the current one holds: a pool
     * buffer when one is that long and free, else the task's own kept memory (grown up to {@link #KEPT_BUFFER}),
     * else (longer) memory of its own returned when the task is done. Null above {@link #MAX_BUFFER}.
     */
    @Override
    public MemorySegment ensureBuffer(long bytes) {
        if (buffer != null && buffer.byteSize() >= bytes) {
            return buffer;
        }
        if (bytes > MAX_BUFFER) {
            return null;
        }
        MemorySegment old = buffer;
        MemorySegment n;
        ByteBuffer nv;
        Arena newOversize = null;
        MemorySegment p = buffers.take(bytes);
        if (p != null) {
            n = p;
            nv = buffers.view(p);
        } else if (bytes <= KEPT_BUFFER) {
            if (own == null || own.byteSize() < bytes) {
                long size = 4096;
                while (size < bytes) {
                    size <<= 1;
                }
                own = arena.allocate(size, 4096);
                ownView = own.asByteBuffer();
            }
            n = own;
            nv = ownView;
        } else {
            // A rare huge transfer: memory of its own, returned when the task is done.
            newOversize = Arena.ofShared();
            n = newOversize.allocate(bytes, 4096);
            nv = n.asByteBuffer();
        }
        if (old != null) {
            MemorySegment.copy(old, 0, n, 0, old.byteSize());
            if (old == pooled) {
                buffers.give(pooled);
                pooled = null;
            }
        }
        if (p != null) {
            pooled = p;
        }
        if (newOversize != null || (old != null && oversize != null && n != old)) {
            // The previous oversize memory (copied from above) is done with.
            if (oversize != null) {
                oversize.close();
            }
            oversize = newOversize;
        }
        buffer = n;
        view = nv;
        return n;
    }

    /** Sets up the buffer for a new command's data: the whole transfer when a pool buffer can hold it. */
    MemorySegment prepareBuffer(long expected) {
        return ensureBuffer(buffers.pooling() && expected <= buffers.largest() ? Math.max(expected, 512) : 4096);
    }

    @Override
    public void scsiComplete() {
        executing = false;
        owner.onScsiComplete(this);
    }

    IscsiConnection owner;

    /**
     * The task is done with its data: a pool buffer goes back, oversize memory is freed. Without a pool the own
     * kept buffer stays current (the next command finds it ready); with one the next command takes a pool buffer.
     */
    void releaseBuffers() {
        if (pooled != null) {
            buffers.give(pooled);
            pooled = null;
        }
        if (oversize != null) {
            oversize.close();
            oversize = null;
        }
        boolean keepOwn = !buffers.pooling();
        buffer = keepOwn ? own : null;
        view = keepOwn ? ownView : null;
    }

    void reset() {
        releaseBuffers();
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
