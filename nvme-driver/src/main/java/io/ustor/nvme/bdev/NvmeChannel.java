package io.ustor.nvme.bdev;

import io.ustor.bdev.BdevIo;
import io.ustor.env.Errno;
import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeQpair;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;

/**
 * One reactor's share of a controller: its I/O queue pair, the poller that completes commands, and a timed poller
 * that checks controller health (hot-remove, fatal status) and command timeouts (Abort, then controller reset). Also the pool of long
 * write-zeroes jobs (one NVMe Write Zeroes covers at most 65536 blocks).
 */
final class NvmeChannel {
    static final int WZ_MAX_BLOCKS = 65536;

    final NvmeBdevController owner;
    final Reactor reactor;
    final NvmeQpair qpair;
    private final PollerHandle poller;
    private final PollerHandle health;
    private final WriteZeroesJob[] jobs = new WriteZeroesJob[32];
    private int freeJobs;
    /** The timed-out command an Abort was sent for (-1: none), and when. */
    private int abortCid = -1;
    private long abortSentNanos;

    NvmeChannel(NvmeBdevController owner, Reactor reactor, NvmeQpair qpair) {
        this.owner = owner;
        this.reactor = reactor;
        this.qpair = qpair;
        for (int i = 0; i < jobs.length; i++) {
            jobs[i] = new WriteZeroesJob();
        }
        freeJobs = jobs.length;
        this.poller = reactor.addPoller("nvme " + owner.name() + " qpair " + qpair.qid(), () -> qpair.processCompletions(0));
        this.health = reactor.addTimedPoller("nvme " + owner.name() + " health", this::checkHealth, 100_000_000L);
    }

    private int checkHealth() {
        if (owner.controller().checkHealth() < 0) {
            owner.controllerFailed();
            return qpair.processCompletions(0);
        }
        long timeout = owner.controller().options().ioTimeoutMs();
        if (timeout > 0) {
            long now = System.nanoTime();
            long timeoutNanos = timeout * 1_000_000L;
            int cid = qpair.findTimedOut(now, timeoutNanos);
            if (cid < 0) {
                abortCid = -1;
                return 0;
            }
            // SPDK's order: Abort the command first; reset the controller when that fails or the command is
            // still outstanding one more timeout period later
            if (cid == abortCid) {
                if (now - abortSentNanos > timeoutNanos) {
                    abortCid = -1;
                    owner.commandTimedOut(this, cid);
                    return 1;
                }
                return 0;
            }
            abortCid = cid;
            abortSentNanos = now;
            if (!owner.abortTimedOutCommand(this, cid)) {
                abortCid = -1;
                owner.commandTimedOut(this, cid);
            }
            return 1;
        }
        return 0;
    }

    /** Starts a write zeroes of any length as a chain of commands; -ENOMEM when every job is busy. */
    int writeZeroes(int nsid, BdevIo io) {
        if (freeJobs == 0) {
            return -Errno.ENOMEM;
        }
        WriteZeroesJob j = jobs[--freeJobs];
        j.io = io;
        j.nsid = nsid;
        j.next = io.offsetBlocks();
        j.left = io.numBlocks();
        int rc = j.submitNext();
        if (rc < 0) {
            j.io = null;
            jobs[freeJobs++] = j;
        }
        return rc;
    }

    void close() {
        poller.unregister();
        health.unregister();
    }

    /** Progress of one long write zeroes. */
    private final class WriteZeroesJob implements NvmeCompletion {
        BdevIo io;
        int nsid;
        long next, left;

        int submitNext() {
            int n = (int) Math.min(left, WZ_MAX_BLOCKS);
            int rc = qpair.writeZeroes(nsid, next, n, false, this, null);
            if (rc == 0) {
                next += n;
                left -= n;
            }
            return rc;
        }

        @Override
        public void onComplete(Object arg, int status, int dw0) {
            BdevIo done = io;
            if (status == 0 && left > 0) {
                int rc = submitNext();
                if (rc == 0) {
                    return;
                }
                status = rc;
            }
            io = null;
            jobs[freeJobs++] = this;
            NvmeBdev.finish(done, status);
        }
    }
}
