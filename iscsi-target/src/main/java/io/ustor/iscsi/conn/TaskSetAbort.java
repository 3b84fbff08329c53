package io.ustor.iscsi.conn;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoWaitEntry;
import io.ustor.env.Errno;
import io.ustor.iscsi.TargetNode;
import io.ustor.reactor.Reactor;
import io.ustor.scsi.ScsiLun;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One task management function that aborts tasks (ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET,
 * TARGET WARM/COLD RESET), run by RFC 7143's multi-task abort semantics (first set out in RFC 5048): the affected
 * tasks of the issuing session and, for the functions that reach every nexus, of every other session on the logical
 * unit (on whatever reactor they live) are marked aborted; for resets the bdev is reset; the Task Management Function
 * Response goes out only once every affected task has terminated (its bdev I/O finished) and the resets completed.
 *
 * <p>Third-party tasks get no response: the Control mode page reports TAS=0 (SPC-4 7.5.8), so tasks aborted by
 * another I_T nexus end without status; those nexuses learn of it by a unit attention (29h/03h after a reset,
 * 2Fh/00h COMMANDS CLEARED BY ANOTHER INITIATOR after CLEAR TASK SET). Rare: allocates freely.
 */
final class TaskSetAbort implements BdevIoCallback {
    private static final System.Logger LOG = System.getLogger(TaskSetAbort.class.getName());

    /** What the function does beyond aborting the issuing nexus's tasks. */
    enum Kind {
        /** SAM-5 7.2: one task of the issuing nexus. */
        ABORT_TASK(false, false),
        /** SAM-5 7.3: the issuing nexus's tasks only. */
        ABORT_TASK_SET(false, false),
        /** SAM-5 7.5: one task set for all nexuses (TST=000b), so every nexus's tasks. */
        CLEAR_TASK_SET(true, false),
        /** SAM-5 7.7: every nexus's tasks, then the logical unit reset (bdev reset, unit attention 29h/03h). */
        LOGICAL_UNIT_RESET(true, true),
        /** RFC 7143 11.5.1: a logical unit reset of every LU of the target. */
        TARGET_WARM_RESET(true, true),
        /** As warm, and every connection to the target is closed. */
        TARGET_COLD_RESET(true, true);

        final boolean allNexuses;
        final boolean resetsBdev;

        Kind(boolean allNexuses, boolean resetsBdev) {
            this.allNexuses = allNexuses;
            this.resetsBdev = resetsBdev;
        }
    }

    /** SPC-4 additional sense: COMMANDS CLEARED BY ANOTHER INITIATOR. */
    static final int COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = 0x2f00;

    final Kind kind;
    final IscsiConnection origin;
    final TargetNode target;
    /** The affected logical units. */
    final ScsiLun[] luns;
    /** The request's Initiator Task Tag, for the response. */
    final int itt;
    /** Affected tasks not yet terminated, fan-out and bdev resets not yet done, plus one while starting. */
    private final AtomicInteger pending = new AtomicInteger(1);
    /** A bdev reset failed: the response is FUNCTION REJECTED instead of FUNCTION COMPLETE. */
    private volatile boolean resetFailed;

    TaskSetAbort(Kind kind, IscsiConnection origin, TargetNode target, ScsiLun[] luns, int itt) {
        this.kind = kind;
        this.origin = origin;
        this.target = target;
        this.luns = luns;
        this.itt = itt;
    }

    /** Whether {@code lun} is one this function affects. */
    boolean affects(ScsiLun lun) {
        for (ScsiLun l : luns) {
            if (l == lun) {
                return true;
            }
        }
        return false;
    }

    /** One more thing to wait for (an executing task, the fan-out, a bdev reset). */
    void expect() {
        pending.incrementAndGet();
    }

    /** One awaited thing is done (any reactor); the last one sends the response from the issuing reactor. */
    void done() {
        if (pending.decrementAndGet() != 0) {
            return;
        }
        Reactor r = origin.reactor();
        if (r.isCurrent()) {
            origin.taskSetAbortDone(this);
        } else {
            r.call(() -> {
                origin.taskSetAbortDone(this);
                return null;
            });
        }
    }

    /** On the issuing reactor, after the fan-out: resets the bdev of every affected LU (when the kind resets). */
    void resetBdevs() {
        if (kind.resetsBdev) {
            for (ScsiLun lun : luns) {
                expect();
                new BdevResetRequest(lun).submit();
            }
        }
        done(); // the fan-out's share
    }

    /** A bdev reset finished (on the issuing reactor, where its channel was taken). */
    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        BdevResetRequest r = (BdevResetRequest) cbArg;
        r.desc.putIoChannel(r.channel);
        if (!success) {
            LOG.log(System.Logger.Level.WARNING, "{0}: bdev {1} reset failed", origin.name(), io.bdev().name());
            resetFailed = true;
        }
        done();
    }

    /** One LU's bdev reset through a channel taken on the issuing reactor; waits for a free io when none is. */
    private final class BdevResetRequest implements BdevIoWaitEntry {
        final ScsiLun lun;
        final BdevDesc desc;
        final BdevChannel channel;

        BdevResetRequest(ScsiLun lun) {
            this.lun = lun;
            this.desc = lun.desc();
            this.channel = desc.getIoChannel();
        }

        void submit() {
            int rc = desc.reset(channel, TaskSetAbort.this, this);
            if (rc == -Errno.ENOMEM && desc.queueIoWait(channel, this) == 0) {
                return;
            }
            if (rc != 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: reset of bdev {1} not started: {2}", origin.name(),
                        lun.bdev().name(), Errno.name(-rc));
                desc.putIoChannel(channel);
                resetFailed = true;
                done();
            }
        }

        @Override
        public void onRetry() {
            submit();
        }
    }

    /** The Task Management Function Response code: 0 FUNCTION COMPLETE, 255 FUNCTION REJECTED. */
    int response() {
        return resetFailed ? 255 : 0;
    }
}
