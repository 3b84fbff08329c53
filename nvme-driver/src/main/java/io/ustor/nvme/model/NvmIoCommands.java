package io.ustor.nvme.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.ustor.nvme.internal.NvmeCommands.*;
import static io.ustor.nvme.model.ModelStatus.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The NVM command set on the model's namespace: Read, Write, Compare (data through {@link PrpWalker}), Flush,
 * Write Zeroes and Dataset Management (deallocate: the blocks read zeroes). Returns a status; the engine posts it.
 * Engine thread only, allocation-free.
 */
final class NvmIoCommands {
    private final RamNamespace ns;
    private final PrpWalker prp;
    private final ModelLogs logs;
    private final long maxTransfer;
    private final Arena arena = Arena.ofShared();
    /** DSM range descriptors: at most 256 of 16 bytes. */
    private final MemorySegment rangeList = arena.allocate(256L * DSM_RANGE_SIZE, 8);

    NvmIoCommands(RamNamespace ns, PrpWalker prp, ModelLogs logs, long maxTransfer) {
        this.ns = ns;
        this.prp = prp;
        this.logs = logs;
        this.maxTransfer = maxTransfer;
    }

    /** Executes the command at host address {@code sqe} (dword 0 already read); returns its status. */
    int execute(int dw0, long sqe) {
        if ((dw0 & 0xc300) != 0) {
            return INVALID_FIELD | DNR; // fused operations and SGLs are not supported
        }
        int opcode = dw0 & 0xff;
        int nsid = HostMemory.getInt(sqe + 4);
        if (opcode == NVM_FLUSH && nsid == -1) {
            return 0;
        }
        if (nsid != RamNamespace.NSID) {
            return INVALID_NAMESPACE | DNR;
        }
        return switch (opcode) {
            case NVM_READ, NVM_WRITE, NVM_COMPARE -> readWrite(opcode, sqe);
            case NVM_FLUSH -> 0; // RAM: the write cache is always clean
            case NVM_WRITE_ZEROES -> writeZeroes(sqe);
            case NVM_DSM -> datasetManagement(sqe);
            default -> INVALID_OPCODE | DNR;
        };
    }

    private int readWrite(int opcode, long sqe) {
        long slba = HostMemory.getLong(sqe + 40);
        int nlb = (HostMemory.getInt(sqe + 48) & 0xffff) + 1;
        if (!ns.inRange(slba, nlb)) {
            return LBA_OUT_OF_RANGE | DNR;
        }
        long bytes = (long) nlb << ns.blockShift();
        if (bytes > maxTransfer) {
            return INVALID_FIELD | DNR;
        }
        int st = prp.walk(HostMemory.getLong(sqe + 24), HostMemory.getLong(sqe + 32), bytes);
        if (st != 0) {
            return st;
        }
        long off = slba << ns.blockShift();
        if (opcode == NVM_WRITE) {
            prp.fromHost(ns.media(), off);
            logs.writeCommands++;
            logs.bytesWritten += bytes;
            return 0;
        }
        logs.readCommands++;
        logs.bytesRead += bytes;
        if (opcode == NVM_READ) {
            prp.toHost(ns.media(), off);
            return 0;
        }
        return prp.sameAsHost(ns.media(), off) ? 0 : COMPARE_FAILURE | DNR;
    }

    private int writeZeroes(long sqe) {
        long slba = HostMemory.getLong(sqe + 40);
        int nlb = (HostMemory.getInt(sqe + 48) & 0xffff) + 1;
        if (!ns.inRange(slba, nlb)) {
            return LBA_OUT_OF_RANGE | DNR;
        }
        ns.zero(slba, nlb);
        return 0;
    }

    private int datasetManagement(long sqe) {
        int ranges = (HostMemory.getInt(sqe + 40) & 0xff) + 1;
        int attributes = HostMemory.getInt(sqe + 44);
        int st = prp.walk(HostMemory.getLong(sqe + 24), HostMemory.getLong(sqe + 32), (long) ranges * DSM_RANGE_SIZE);
        if (st != 0) {
            return st;
        }
        if ((attributes & DSM_DEALLOCATE) == 0) {
            return 0; // integral read/write hints only: nothing to do for RAM
        }
        prp.fromHost(rangeList, 0);
        for (int i = 0; i < ranges; i++) {
            long nlb = rangeList.get(JAVA_INT, (long) i * DSM_RANGE_SIZE + 4) & 0xffffffffL;
            long slba = rangeList.get(JAVA_LONG, (long) i * DSM_RANGE_SIZE + 8);
            if (!ns.inRange(slba, nlb)) {
                return LBA_OUT_OF_RANGE | DNR;
            }
        }
        for (int i = 0; i < ranges; i++) {
            long nlb = rangeList.get(JAVA_INT, (long) i * DSM_RANGE_SIZE + 4) & 0xffffffffL;
            long slba = rangeList.get(JAVA_LONG, (long) i * DSM_RANGE_SIZE + 8);
            ns.zero(slba, nlb);
        }
        return 0;
    }

    void close() {
        arena.close();
    }
}
