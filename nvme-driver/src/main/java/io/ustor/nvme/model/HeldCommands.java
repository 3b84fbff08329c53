package io.ustor.nvme.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * I/O commands the model fetched but does not complete (error injection "hold"): a copy of each submission entry,
 * its queue and whether an Abort may complete it. They stay until aborted, released (executed after all), their
 * submission queue is deleted, or the controller resets. Engine thread only.
 */
final class HeldCommands {
    static final int CAPACITY = 1024;
    private static final int SQE = 64;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment entries = arena.allocate((long) CAPACITY * SQE, SQE);
    private final int[] sqid = new int[CAPACITY];
    private final boolean[] abortable = new boolean[CAPACITY];
    private int count;

    int count() {
        return count;
    }

    boolean full() {
        return count == CAPACITY;
    }

    /** Keeps a copy of the entry at host address {@code sqe}. */
    void add(int qid, long sqe, boolean canAbort) {
        MemorySegment.copy(HostMemory.ALL, sqe, entries, (long) count * SQE, SQE);
        sqid[count] = qid;
        abortable[count] = canAbort;
        count++;
    }

    /** Index of the held command {@code cid} of queue {@code qid}, or -1. */
    int find(int qid, int cid) {
        for (int i = 0; i < count; i++) {
            if (sqid[i] == qid && cid(i) == cid) {
                return i;
            }
        }
        return -1;
    }

    int sqid(int i) {
        return sqid[i];
    }

    int cid(int i) {
        return HostMemory.getInt(address(i)) >>> 16;
    }

    boolean abortable(int i) {
        return abortable[i];
    }

    /** Host address of held entry {@code i}'s copy (valid until the next {@link #remove}). */
    long address(int i) {
        return entries.address() + (long) i * SQE;
    }

    /** Copies entry {@code i} to {@code dst} (64 bytes) and removes it, keeping the others in order. */
    void take(int i, MemorySegment dst) {
        MemorySegment.copy(entries, (long) i * SQE, dst, 0, SQE);
        remove(i);
    }

    void remove(int i) {
        int tail = count - i - 1;
        if (tail > 0) {
            MemorySegment.copy(entries, (long) (i + 1) * SQE, entries, (long) i * SQE, (long) tail * SQE);
            System.arraycopy(sqid, i + 1, sqid, i, tail);
            System.arraycopy(abortable, i + 1, abortable, i, tail);
        }
        count--;
    }

    void clear() {
        count = 0;
    }

    void close() {
        arena.close();
    }
}
