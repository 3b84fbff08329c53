package io.ustor.scsi;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoWaitEntry;
import io.ustor.env.Errno;

import java.lang.foreign.MemorySegment;

import static io.ustor.scsi.Bytes.get16;
import static io.ustor.scsi.Bytes.get32;
import static io.ustor.scsi.Bytes.get64;
import static io.ustor.scsi.Bytes.get8;

/**
 * One EXTENDED COPY (LID1) command (SPC-4 6.4): checks the parameter list (header, identification target
 * descriptors E4h, block-to-block segment descriptors 02h, the limits RECEIVE COPY RESULTS reports), resolves each
 * target descriptor to a LU of this target by its NAA designator (the one the Device Identification VPD page
 * reports), then copies segment by segment through the bdev layer: read a chunk from the source LU's bdev into the
 * task's buffer, write it to the destination's, one chunk in flight. Errors while copying end the command with
 * COPY ABORTED. Control-rate command: one small object per command.
 */
final class ExtendedCopy implements BdevIoCallback, BdevIoWaitEntry {
    static final int TARGET_IDENTIFICATION = 0xe4, SEGMENT_BLOCK_TO_BLOCK = 0x02;
    static final int MAX_TARGET_DESCRIPTORS = 8, MAX_SEGMENT_DESCRIPTORS = 64, MAX_DESCRIPTOR_LIST_LENGTH = 4096;
    private static final int HEADER = 16, TARGET_DESCRIPTOR = 32, BLOCK_TO_BLOCK_LENGTH = 28;
    private static final long CHUNK_BYTES = 1 << 20;

    private final LunChannel lc;
    private final ScsiTask t;
    private final ScsiLun lun;
    private final ScsiLun[] targets = new ScsiLun[MAX_TARGET_DESCRIPTORS];
    private final BdevChannel[] channels = new BdevChannel[MAX_TARGET_DESCRIPTORS];
    private int targetCount;
    private int segmentOffset, segmentCount;
    private CopyResults.Entry entry;
    private MemorySegment data;
    private long chunkBlocks;

    // The segment being copied.
    private int segment;
    private ScsiLun src, dst;
    private BdevChannel srcCh, dstCh;
    private long srcLba, dstLba, remaining, inFlight;
    /**
     * The segment copies from its end to its start: the destination overlaps the source at higher LBAs on the same
     * bdev, where a forward copy would overwrite source blocks before reading them.
     */
    private boolean backward;
    private boolean writing;

    ExtendedCopy(LunChannel lc, ScsiTask t) {
        this.lc = lc;
        this.t = t;
        this.lun = lc.lun();
    }

    void execute() {
        if ((t.cdbByte(1) & 0x1f) != 0) { // LID4 service actions are not supported
            lc.completeInvalidField(t, 1, 4);
            return;
        }
        long paramLen = t.cdbU32(10);
        t.transferred = (int) paramLen;
        if (paramLen == 0) {
            lc.completeGood(t);
            return;
        }
        if (paramLen < HEADER || t.dataOutLength < paramLen) {
            lengthError();
            return;
        }
        MemorySegment p = t.buffer();
        int listId = get8(p, 0);
        int usage = (get8(p, 1) >>> 3) & 0x03;
        int targetLength = get16(p, 2);
        long segmentLength = get32(p, 8);
        long inlineLength = get32(p, 12);
        if (targetLength + segmentLength > MAX_DESCRIPTOR_LIST_LENGTH
                || HEADER + targetLength + segmentLength + inlineLength > paramLen) {
            lengthError();
            return;
        }
        if (inlineLength != 0) {
            lc.completeInvalidParameter(t, 12, -1); // MAXIMUM INLINE DATA LENGTH is 0
            return;
        }
        if (usage == 1) {
            lc.completeInvalidParameter(t, 1, 4);
            return;
        }
        if (!parseTargets(p, targetLength) || !parseSegments(p, HEADER + targetLength, (int) segmentLength)) {
            return;
        }
        CopyResults results = lc.copyResults();
        if (usage != 3 && results.find(listId) != null && results.find(listId).running) {
            lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.OPERATION_IN_PROGRESS, -1, -1, -1, true);
            return;
        }
        if (usage != 3) {
            entry = results.begin(listId, usage == 0);
            if (entry == null) {
                lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.INSUFFICIENT_RESOURCES, -1, -1, -1, true);
                return;
            }
        }
        long dataOffset = (paramLen + 4095) & ~4095L;
        chunkBlocks = Math.max(1, CHUNK_BYTES / lun.blockSize());
        MemorySegment buf = t.ensureBuffer(dataOffset + chunkBlocks * lun.blockSize());
        if (buf == null) {
            abort(Sense.HARDWARE_ERROR, Sense.INTERNAL_TARGET_FAILURE);
            return;
        }
        data = buf.asSlice(dataOffset);
        segment = -1;
        nextSegment();
    }

    private void lengthError() {
        lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.PARAMETER_LIST_LENGTH_ERROR, -1, -1, -1, true);
    }

    /** Target descriptors: identification descriptors only, resolved to LUs (null when none matches). */
    private boolean parseTargets(MemorySegment p, int length) {
        if (length / TARGET_DESCRIPTOR > MAX_TARGET_DESCRIPTORS) {
            lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.TOO_MANY_TARGET_DESCRIPTORS, -1, -1, -1, true);
            return false;
        }
        for (int off = HEADER; off < HEADER + length; off += TARGET_DESCRIPTOR) {
            if (get8(p, off) != TARGET_IDENTIFICATION) {
                lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.UNSUPPORTED_TARGET_DESCRIPTOR_TYPE, -1, off, -1, false);
                return false;
            }
            if (off + TARGET_DESCRIPTOR > HEADER + length) {
                lengthError();
                return false;
            }
            if ((get8(p, off + 1) & 0x1f) != 0) { // PERIPHERAL DEVICE TYPE: block devices only
                lc.completeInvalidParameter(t, off + 1, 4);
                return false;
            }
            // LU ID TYPE and NUL are ignored (SPC-4): the designator names the LU.
            int designatorLength = get8(p, off + 7);
            if (designatorLength > 16) {
                lc.completeInvalidParameter(t, off + 7, -1);
                return false;
            }
            ScsiLun found = resolve(p, off + 4, designatorLength);
            if (found != null && (get32(p, off + 28) & 0xffffff) != found.blockSize()) {
                found = null; // DISK BLOCK LENGTH does not match: not this LU
            }
            targets[targetCount++] = found;
        }
        return true;
    }

    /** The LU of this target whose NAA designator (VPD page 83h, LU association) is the one given. */
    private ScsiLun resolve(MemorySegment p, int designator, int length) {
        int codeSet = get8(p, designator) & 0x0f;
        int associationType = get8(p, designator + 1) & 0x3f;
        if (codeSet != 0x01 || associationType != 0x03) { // binary NAA, associated with the LU
            return null;
        }
        if (matches(lun, p, designator + 4, length)) {
            return lun;
        }
        for (int id : lc.lunMap().lunIds()) {
            ScsiLun other = lc.lunMap().lun(id);
            if (other != null && matches(other, p, designator + 4, length)) {
                return other;
            }
        }
        return null;
    }

    private static boolean matches(ScsiLun l, MemorySegment p, int off, int length) {
        byte[] naa = l.naa();
        if (naa.length != length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + i) != naa[i]) {
                return false;
            }
        }
        return true;
    }

    private boolean parseSegments(MemorySegment p, int start, int length) {
        int end = start + length;
        int count = 0;
        for (int off = start; off < end; ) {
            if (off + 4 > end) {
                lengthError();
                return false;
            }
            if (++count > MAX_SEGMENT_DESCRIPTORS) {
                lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.TOO_MANY_SEGMENT_DESCRIPTORS, -1, -1, -1, true);
                return false;
            }
            if (get8(p, off) != SEGMENT_BLOCK_TO_BLOCK) {
                lc.failWith(t, Sense.ILLEGAL_REQUEST, Sense.UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE, -1, off, -1, false);
                return false;
            }
            int descriptorLength = get16(p, off + 2) + 4;
            if (descriptorLength != BLOCK_TO_BLOCK_LENGTH) {
                lc.completeInvalidParameter(t, off + 2, -1);
                return false;
            }
            if (off + descriptorLength > end) {
                lengthError();
                return false;
            }
            off += descriptorLength;
        }
        segmentOffset = start;
        segmentCount = count;
        return true;
    }

    /** Starts the next segment, or ends the command after the last. */
    private void nextSegment() {
        segment++;
        if (entry != null) {
            entry.segmentsProcessed = segment;
        }
        if (segment == segmentCount) {
            finish();
            return;
        }
        MemorySegment p = t.buffer();
        int off = segmentOffset + segment * BLOCK_TO_BLOCK_LENGTH;
        int srcIndex = get16(p, off + 4), dstIndex = get16(p, off + 6);
        if (srcIndex >= targetCount || dstIndex >= targetCount || targets[srcIndex] == null
                || targets[dstIndex] == null) {
            abort(Sense.COPY_ABORTED, Sense.COPY_TARGET_DEVICE_NOT_REACHABLE);
            return;
        }
        src = targets[srcIndex];
        dst = targets[dstIndex];
        remaining = get16(p, off + 10);
        srcLba = get64(p, off + 12);
        dstLba = get64(p, off + 20);
        if (src.blockSize() != dst.blockSize()) {
            abort(Sense.COPY_ABORTED, Sense.NO_ADDITIONAL);
            return;
        }
        if (beyondEnd(src, srcLba, remaining) || beyondEnd(dst, dstLba, remaining)) {
            abort(Sense.COPY_ABORTED, Sense.NO_ADDITIONAL); // the segment's LBAs exceed a copy target's capacity
            return;
        }
        if (dst.readOnly() || dst.softwareWriteProtect) {
            abort(Sense.DATA_PROTECT, Sense.WRITE_PROTECTED);
            return;
        }
        if ((src != lun && src.reservations().conflicts(t.nexus, Reservations.Access.READ))
                || (dst != lun && dst.reservations().conflicts(t.nexus, Reservations.Access.WRITE))) {
            release();
            endEntry(ScsiStatus.RESERVATION_CONFLICT);
            t.status = ScsiStatus.RESERVATION_CONFLICT;
            t.scsiComplete();
            return;
        }
        if ((src != lun && src.sanitizing()) || (dst != lun && dst.sanitizing())) {
            abort(Sense.COPY_ABORTED, Sense.COPY_TARGET_DEVICE_NOT_REACHABLE);
            return;
        }
        backward = src.bdev() == dst.bdev() && dstLba > srcLba && dstLba - srcLba < remaining;
        dst.allDeallocated = false;
        srcCh = channel(srcIndex);
        dstCh = channel(dstIndex);
        writing = false;
        resume();
    }

    private static boolean beyondEnd(ScsiLun l, long lba, long blocks) {
        return lba < 0 || lba > l.numBlocks() || blocks > l.numBlocks() - lba;
    }

    /** A bdev channel of the target descriptor's LU on this reactor (the command's own for its LU). */
    private BdevChannel channel(int index) {
        ScsiLun l = targets[index];
        if (l == lun) {
            return lc.channel();
        }
        for (int i = 0; i < targetCount; i++) {
            if (targets[i] == l && channels[i] != null) {
                return channels[i];
            }
        }
        channels[index] = l.desc().getIoChannel();
        return channels[index];
    }

    @Override
    public void onRetry() {
        resume();
    }

    /** Submits the read or write of the current chunk. */
    private void resume() {
        if (!writing && remaining == 0) {
            nextSegment();
            return;
        }
        int rc;
        if (!writing) {
            inFlight = Math.min(remaining, chunkBlocks);
        }
        long at = backward ? remaining - inFlight : 0; // the chunk's place in what is left of the segment
        if (!writing) {
            rc = src.desc().read(srcCh, data, srcLba + at, inFlight, this, null);
        } else {
            rc = dst.desc().write(dstCh, data, dstLba + at, inFlight, this, null);
        }
        if (rc == -Errno.ENOMEM) {
            BdevDesc d = writing ? dst.desc() : src.desc();
            d.queueIoWait(writing ? dstCh : srcCh, this);
        } else if (rc < 0) {
            abort(Sense.COPY_ABORTED, writing ? Sense.WRITE_ERROR : Sense.UNRECOVERED_READ_ERROR);
        }
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        if (!success) {
            abort(Sense.COPY_ABORTED, writing ? Sense.WRITE_ERROR : Sense.UNRECOVERED_READ_ERROR);
            return;
        }
        if (t.aborted) { // task management: no further chunk reaches the destination
            abort(Sense.ABORTED_COMMAND, Sense.NO_ADDITIONAL);
            return;
        }
        if (!writing) {
            writing = true;
        } else {
            writing = false;
            if (!backward) {
                srcLba += inFlight;
                dstLba += inFlight;
            }
            remaining -= inFlight;
            if (entry != null) {
                entry.bytes += inFlight * src.blockSize();
            }
        }
        resume();
    }

    private void finish() {
        release();
        endEntry(ScsiStatus.GOOD);
        lc.completeGood(t);
    }

    /** Ends the command with CHECK CONDITION; the held result keeps the sense for FAILED SEGMENT DETAILS. */
    private void abort(int key, int ascq) {
        release();
        t.status = ScsiStatus.CHECK_CONDITION;
        t.senseLength = Sense.write(t.sense, lun.descriptorSense, key, ascq, -1, -1, -1, true);
        if (entry != null) {
            entry.senseLength = Math.min(t.senseLength, entry.sense.length);
            MemorySegment.copy(t.sense, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, entry.sense, 0, entry.senseLength);
        }
        endEntry(ScsiStatus.CHECK_CONDITION);
        t.scsiComplete(); // last: the transport may recycle the task from here on
    }

    private void endEntry(int status) {
        if (entry != null) {
            entry.status = status;
            entry.running = false;
        }
    }

    private void release() {
        for (int i = 0; i < targetCount; i++) {
            if (channels[i] != null) {
                targets[i].desc().putIoChannel(channels[i]);
                channels[i] = null;
            }
        }
    }
}
