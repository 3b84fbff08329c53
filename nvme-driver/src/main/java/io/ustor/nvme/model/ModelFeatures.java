package io.ustor.nvme.model;

import static io.ustor.nvme.internal.NvmeCommands.FEAT_ARBITRATION;
import static io.ustor.nvme.internal.NvmeCommands.FEAT_NUMBER_OF_QUEUES;
import static io.ustor.nvme.internal.NvmeCommands.FEAT_VOLATILE_WRITE_CACHE;
import static io.ustor.nvme.model.ModelStatus.COMMAND_SEQUENCE_ERROR;
import static io.ustor.nvme.model.ModelStatus.DNR;
import static io.ustor.nvme.model.ModelStatus.FEATURE_NOT_SAVEABLE;
import static io.ustor.nvme.model.ModelStatus.INVALID_FIELD;

/**
 * The features the model has (Set/Get Features): Arbitration, Volatile Write Cache and Number of Queues (asked for
 * as 0-based counts, granted up to the model's maximum, only before I/O queues exist). None is saveable; a
 * controller reset restores the defaults. Engine thread only.
 */
final class ModelFeatures {
    private final int maxIoQueues;
    private int grantedSq, grantedCq;
    private int arbitration, writeCacheEnabled;
    private int result;

    ModelFeatures(int maxIoQueues) {
        this.maxIoQueues = maxIoQueues;
        reset();
    }

    void reset() {
        grantedSq = maxIoQueues - 1;
        grantedCq = maxIoQueues - 1;
        arbitration = 0;
        writeCacheEnabled = 1;
    }

    /** I/O submission queues granted, 0-based. */
    int grantedSq() {
        return grantedSq;
    }

    /** I/O completion queues granted, 0-based. */
    int grantedCq() {
        return grantedCq;
    }

    /** Completion dword 0 of the last {@link #set} or {@link #get}. */
    int result() {
        return result;
    }

    int set(int cdw10, int cdw11, boolean ioQueuesExist) {
        result = 0;
        if (cdw10 < 0) {
            return FEATURE_NOT_SAVEABLE | DNR;
        }
        switch (cdw10 & 0xff) {
            case FEAT_ARBITRATION -> arbitration = cdw11;
            case FEAT_VOLATILE_WRITE_CACHE -> writeCacheEnabled = cdw11 & 1;
            case FEAT_NUMBER_OF_QUEUES -> {
                int nsqr = cdw11 & 0xffff;
                int ncqr = cdw11 >>> 16;
                if (nsqr == 0xffff || ncqr == 0xffff) {
                    return INVALID_FIELD | DNR;
                }
                if (ioQueuesExist) {
                    return COMMAND_SEQUENCE_ERROR | DNR; // only before I/O queues are created
                }
                grantedSq = Math.min(nsqr, maxIoQueues - 1);
                grantedCq = Math.min(ncqr, maxIoQueues - 1);
                result = grantedCq << 16 | grantedSq;
            }
            default -> {
                return INVALID_FIELD | DNR;
            }
        }
        return 0;
    }

    int get(int cdw10) {
        result = 0;
        int select = (cdw10 >>> 8) & 7;
        int fid = cdw10 & 0xff;
        if (fid != FEAT_ARBITRATION && fid != FEAT_VOLATILE_WRITE_CACHE && fid != FEAT_NUMBER_OF_QUEUES) {
            return INVALID_FIELD | DNR;
        }
        if (select == 3) {
            result = 0x4; // supported capabilities: changeable, not saveable, not namespace specific
            return 0;
        }
        if (select > 3) {
            return INVALID_FIELD | DNR;
        }
        boolean current = select == 0; // 1 default, 2 saved (= default: nothing is saveable)
        result = switch (fid) {
            case FEAT_ARBITRATION -> current ? arbitration : 0;
            case FEAT_VOLATILE_WRITE_CACHE -> current ? writeCacheEnabled : 1;
            default -> current ? grantedCq << 16 | grantedSq : (maxIoQueues - 1) << 16 | (maxIoQueues - 1);
        };
        return 0;
    }
}
