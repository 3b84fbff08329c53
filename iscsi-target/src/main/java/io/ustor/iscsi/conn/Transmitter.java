package io.ustor.iscsi.conn;

import io.ustor.env.Errno;
import io.ustor.env.net.IoVecArray;
import io.ustor.env.net.TcpSockets;
import io.ustor.iscsi.pdu.Bhs;
import io.ustor.iscsi.pdu.Crc32cDigest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The send side of a connection: a ring of built PDUs (header in a preallocated slot, data segment referenced in
 * place in its buffer) gathered into one sendmsg per flush. Headers are built in place ({@link #begin}), data is
 * never copied, digests are computed when a PDU is committed. A PDU's "release" object (a task or a control
 * buffer) is handed back when the PDU has fully left.
 */
final class Transmitter {
    static final int CAPACITY = 1024;
    /** Slot: 48-byte header, 4-byte header digest, 4-byte data digest. */
    private static final int SLOT = 64, HDIGEST = 48, DDIGEST = 52;
    private static final MemorySegment ZEROS = Arena.global().allocate(8);

    interface Releaser {
        void released(Object what);
    }

    private final MemorySegment slots;
    private final ByteBuffer slotsView;
    private final IoVecArray iov;
    private final Crc32cDigest crc = new Crc32cDigest();
    private final Releaser releaser;

    private final int[] pduBytes = new int[CAPACITY];
    /** Per PDU: header bytes (48, or 52 with a header digest) and whether a data digest follows its data. */
    private final int[] headerBytes = new int[CAPACITY];
    private final boolean[] withDataDigest = new boolean[CAPACITY];
    private final MemorySegment[] data = new MemorySegment[CAPACITY];
    private final long[] dataOff = new long[CAPACITY];
    private final int[] dataLen = new int[CAPACITY];
    private final Object[] release = new Object[CAPACITY];
    private int head, count;
    /** Bytes of the head PDU already sent. */
    private long headSent;
    boolean headerDigest, dataDigest;

    Transmitter(Arena arena, Releaser releaser) {
        this.slots = arena.allocate((long) SLOT * CAPACITY, 64);
        this.slotsView = slots.asByteBuffer();
        this.iov = new IoVecArray(arena, 1024);
        this.releaser = releaser;
    }

    boolean hasRoom(int pdus) {
        return count + pdus <= CAPACITY;
    }

    boolean isEmpty() {
        return count == 0;
    }

    int pending() {
        return count;
    }

    /** The header slots segment ({@link #begin} returns the offset of the new header within it). */
    MemorySegment slots() {
        return slots;
    }

    /** Starts a PDU: zeroes its header slot and returns the slot's offset. Check {@link #hasRoom} first. */
    long begin(int opcode, int flags) {
        int idx = (head + count) % CAPACITY;
        long base = (long) idx * SLOT;
        Bhs.init(slots, base, opcode, flags);
        return base;
    }

    /**
     * Commits the PDU begun last, with {@code length} bytes of data at {@code offset} of {@code seg}
     * ({@code view} over the same memory, for the data digest), releasing {@code releaseObj} once sent.
     */
    void commit(MemorySegment seg, ByteBuffer view, long offset, int length, Object releaseObj) {
        int idx = (head + count) % CAPACITY;
        long base = (long) idx * SLOT;
        Bhs.setDataSegmentLength(slots, base, length);
        int bytes = Bhs.SIZE;
        if (headerDigest) {
            Crc32cDigest.store(slots, base + HDIGEST, crc.compute(slotsView, (int) base, Bhs.SIZE));
            bytes += 4;
        }
        if (length > 0) {
            int padded = Bhs.padded(length);
            bytes += padded;
            if (dataDigest) {
                crc.reset();
                crc.update(view, (int) offset, length);
                crc.updateZeros(padded - length);
                Crc32cDigest.store(slots, base + DDIGEST, crc.value());
                bytes += 4;
            }
        }
        pduBytes[idx] = bytes;
        headerBytes[idx] = headerDigest ? Bhs.SIZE + 4 : Bhs.SIZE;
        withDataDigest[idx] = dataDigest && length > 0;
        data[idx] = length > 0 ? seg : null;
        dataOff[idx] = offset;
        dataLen[idx] = length;
        release[idx] = releaseObj;
        count++;
    }

    /**
     * Sends as much as the socket takes. Returns bytes sent (0 when nothing to send or the socket is full) or
     * -errno on a dead connection.
     */
    long flush(int fd) {
        long total = 0;
        while (count > 0) {
            iov.clear();
            int n = 0;
            long skip = headSent;
            while (n < count && iov.count() + 4 <= iov.capacity()) {
                int idx = (head + n) % CAPACITY;
                long base = (long) idx * SLOT;
                skip = add(slots, base, headerBytes[idx], skip);
                int len = dataLen[idx];
                if (len > 0) {
                    skip = add(data[idx], dataOff[idx], len, skip);
                    int pad = Bhs.padded(len) - len;
                    if (pad > 0) {
                        skip = add(ZEROS, 0, pad, skip);
                    }
                    if (withDataDigest[idx]) {
                        skip = add(slots, base + DDIGEST, 4, skip);
                    }
                }
                n++;
            }
            long sent = TcpSockets.sendvRaw(fd, iov);
            if (sent == -Errno.EAGAIN || sent == -Errno.EINTR) {
                return total;
            }
            if (sent < 0) {
                return sent;
            }
            total += sent;
            advance(sent);
            if (iov.totalBytes() > sent) {
                return total; // the socket buffer is full
            }
        }
        return total;
    }

    private long add(MemorySegment seg, long off, long len, long skip) {
        if (skip >= len) {
            return skip - len;
        }
        iov.add(seg, off + skip, len - skip);
        return 0;
    }

    private void advance(long sent) {
        while (sent > 0 && count > 0) {
            long left = pduBytes[head] - headSent;
            if (sent >= left) {
                sent -= left;
                headSent = 0;
                Object r = release[head];
                release[head] = null;
                data[head] = null;
                head = (head + 1) % CAPACITY;
                count--;
                if (r != null) {
                    releaser.released(r);
                }
            } else {
                headSent += sent;
                sent = 0;
            }
        }
    }

    /** Drops everything queued (connection closing), releasing what the PDUs held. */
    void discard() {
        while (count > 0) {
            Object r = release[head];
            release[head] = null;
            data[head] = null;
            head = (head + 1) % CAPACITY;
            count--;
            if (r != null) {
                releaser.released(r);
            }
        }
        headSent = 0;
    }
}
