package io.ustor.scsi;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevIoWaitEntry;
import io.ustor.env.Errno;
import io.ustor.reactor.Poller;
import io.ustor.reactor.PollerHandle;
import io.ustor.reactor.Reactor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.SplittableRandom;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One sanitize operation (SBC-4 4.11) on a LU's bdev: runs in the background on the reactor that received the
 * SANITIZE command, with a bdev channel of its own, so it outlives the command, its connection, task management
 * and resets. One I/O in flight at a time, 1 MiB at a time, paced by {@link ScsiLun#sanitizeBytesPerSecond()}.
 * While it runs, {@link #refuses} turns other commands away with NOT READY / SANITIZE IN PROGRESS and a progress
 * indication; if it fails, the LU stays in the sanitize failure mode until a SANITIZE exits it.
 * <p>
 * Methods: OVERWRITE writes the initialization pattern (inverted on alternate passes when INVERT is set, the last
 * pass always plain); BLOCK ERASE unmaps every block (they read back as zeroes: LBPRZ) or, on a bdev without
 * UNMAP, writes zeroes; CRYPTOGRAPHIC ERASE has no media key to change on this target, so it makes the old data
 * unrecoverable the other way: one pass of unpredictable data (a generator seeded from SecureRandom). Reads after
 * any of them complete normally (WABEREQ and WACEREQ 01b).
 */
final class SanitizeOperation implements BdevIoCallback, BdevIoWaitEntry, Poller {
    private static final System.Logger LOG = System.getLogger(SanitizeOperation.class.getName());

    enum Method { OVERWRITE, BLOCK_ERASE, CRYPTO_ERASE }

    private static final long CHUNK_BYTES = 1 << 20;
    private static final long PACE_PERIOD_NANOS = 1_000_000;

    private final ScsiLun lun;
    private final Method method;
    /** AUSE: a failure of this operation may be left with EXIT FAILURE MODE. */
    final boolean ause;
    private final byte[] pattern;
    private final boolean invert;
    private final int passes;
    private final long numBlocks;
    private final int blockSize;
    private final long chunkBlocks;
    private final boolean unmap;
    private final long rate;
    private final long total;

    private BdevDesc desc;
    private BdevChannel ch;
    private PollerHandle poller;
    private Arena arena;
    private MemorySegment buf;
    private SplittableRandom random;
    private int pass;
    private long next;
    private long inFlightBlocks;
    private boolean inFlight;
    private long startNanos;
    private long bytesIssued;
    /** Blocks done over all passes (read by other reactors for the progress indication). */
    private volatile long done;
    private volatile boolean finished;
    private volatile boolean failed;
    /** The SANITIZE command waiting for the end (IMMED 0), and the channel to complete it through. */
    private ScsiTask waiter;
    private LunChannel waiterChannel;

    SanitizeOperation(ScsiLun lun, Method method, boolean ause, byte[] pattern, boolean invert, int passes) {
        this.lun = lun;
        this.method = method;
        this.ause = ause;
        this.pattern = pattern;
        this.invert = invert;
        this.passes = passes;
        this.numBlocks = lun.numBlocks();
        this.blockSize = lun.blockSize();
        this.chunkBlocks = Math.max(1, CHUNK_BYTES / blockSize);
        this.unmap = method == Method.BLOCK_ERASE && lun.thinProvisioned();
        this.rate = unmap ? 0 : lun.sanitizeBytesPerSecond();
        this.total = Math.max(1, numBlocks * passes);
    }

    boolean running() {
        return !finished;
    }

    boolean failed() {
        return failed;
    }

    /** Progress of the running operation as a fraction of 65536. */
    int progress() {
        return (int) Math.min(0xffff, (done * 65536) / total);
    }

    /**
     * Starts on the calling reactor (the one running {@code lc}); {@code waiting} is the SANITIZE command to
     * complete at the end, or null when it was completed already (IMMED).
     */
    void start(LunChannel lc, ScsiTask waiting) {
        desc = lun.desc();
        ch = desc.getIoChannel();
        if (!unmap) {
            arena = Arena.ofShared();
            buf = arena.allocate(chunkBlocks * blockSize, 4096);
            if (method == Method.CRYPTO_ERASE) {
                random = new SplittableRandom(new SecureRandom().nextLong());
            }
            fillForPass();
        }
        waiter = waiting;
        waiterChannel = lc;
        startNanos = System.nanoTime();
        LOG.log(System.Logger.Level.INFO, "bdev {0}: sanitize {1} started ({2} pass(es), {3} blocks)",
                lun.bdev().name(), method, passes, numBlocks);
        poller = Reactor.current().addTimedPoller("sanitize " + lun.bdev().name(), this, PACE_PERIOD_NANOS);
        issue();
    }

    /** The contents of a pass: the pattern (or its inversion on alternate passes ending with the plain one). */
    private void fillForPass() {
        if (method == Method.BLOCK_ERASE) {
            buf.fill((byte) 0);
            return;
        }
        if (method == Method.CRYPTO_ERASE) {
            return; // refilled per chunk
        }
        boolean inverted = invert && ((passes - pass) % 2 == 0);
        int len = pattern.length;
        long size = buf.byteSize();
        for (long b = 0; b < size; b += blockSize) {
            for (int i = 0; i < blockSize; i++) {
                byte v = pattern[i % len];
                buf.set(JAVA_BYTE, b + i, inverted ? (byte) ~v : v);
            }
        }
    }

    @Override
    public int poll() {
        ScsiTask t = waiter;
        if (t != null && t.aborted) {
            // ABORT TASK, a task set abort or a reset ended the SANITIZE command; the sanitize operation itself
            // goes on (SBC-4 4.11). The transport drops the aborted command's status and stops waiting for it.
            waiter = null;
            t.scsiComplete();
        }
        if (!finished && !inFlight) {
            issue();
            return 1;
        }
        return 0;
    }

    @Override
    public void onRetry() {
        issue();
    }

    /** Submits the next chunk if the pace allows; the poller retries otherwise. */
    private void issue() {
        if (finished || inFlight) {
            return;
        }
        if (desc.isClosed()) {
            // The LU went away (target deleted, shutdown): stop, releasing the channel its bdev waits for.
            LOG.log(System.Logger.Level.WARNING, "bdev {0}: sanitize {1}: the LU was closed", lun.bdev().name(), method);
            finish(false);
            return;
        }
        if (next >= numBlocks) {
            pass++;
            if (pass >= passes) {
                finish(true);
                return;
            }
            next = 0;
            fillForPass();
        }
        long n = Math.min(chunkBlocks, numBlocks - next);
        if (rate > 0) {
            long allowed = (System.nanoTime() - startNanos) / 1000 * rate / 1_000_000 + CHUNK_BYTES;
            if (bytesIssued + n * blockSize > allowed) {
                return;
            }
        }
        if (method == Method.CRYPTO_ERASE) {
            for (long i = 0; i < n * blockSize; i += 8) {
                buf.set(JAVA_LONG_UNALIGNED, i, random.nextLong());
            }
        }
        inFlight = true;
        inFlightBlocks = n;
        int rc = unmap ? desc.unmap(ch, next, n, this, null) : desc.write(ch, buf, next, n, this, null);
        if (rc == -Errno.ENOMEM) {
            inFlight = false;
            desc.queueIoWait(ch, this);
        } else if (rc < 0) {
            inFlight = false;
            LOG.log(System.Logger.Level.WARNING, "bdev {0}: sanitize {1}: submit failed: {2}",
                    lun.bdev().name(), method, Errno.name(-rc));
            finish(false);
        } else {
            bytesIssued += n * blockSize;
        }
    }

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        inFlight = false;
        if (!success) {
            LOG.log(System.Logger.Level.WARNING, "bdev {0}: sanitize {1}: I/O at block {2} failed",
                    lun.bdev().name(), method, next);
            finish(false);
            return;
        }
        next += inFlightBlocks;
        done += inFlightBlocks;
        issue();
    }

    private void finish(boolean ok) {
        if (!ok) {
            failed = true; // before finished: whoever sees it stopped must see how it ended
        }
        finished = true;
        poller.unregister();
        desc.putIoChannel(ch);
        if (arena != null) {
            arena.close();
        }
        if (ok) {
            lun.allDeallocated = unmap;
            lun.endSanitize(this);
        }
        LOG.log(ok ? System.Logger.Level.INFO : System.Logger.Level.WARNING, "bdev {0}: sanitize {1} {2}",
                lun.bdev().name(), method, ok ? "completed" : "failed: the LU is in sanitize failure mode");
        ScsiTask t = waiter;
        if (t != null) {
            waiter = null;
            if (ok) {
                waiterChannel.completeGood(t);
            } else {
                waiterChannel.failWith(t, Sense.MEDIUM_ERROR, Sense.SANITIZE_COMMAND_FAILED, -1, -1, -1, true);
            }
        }
    }

    /**
     * The gate every command passes while this operation is the LU's: true when it refused (and completed) the
     * command. While running, only INQUIRY, REPORT LUNS, REQUEST SENSE and REPORT SUPPORTED OPERATION CODES
     * proceed; after a failure, commands that access the medium get MEDIUM ERROR / SANITIZE COMMAND FAILED.
     */
    boolean refuses(LunChannel lc, ScsiTask t, int op, boolean mediumAccess) {
        if (!finished) {
            if (op == Cdb.INQUIRY || op == Cdb.REPORT_LUNS || op == Cdb.REQUEST_SENSE || op == Cdb.MAINTENANCE_IN) {
                return false;
            }
            lc.failWithProgress(t, Sense.NOT_READY, Sense.SANITIZE_IN_PROGRESS, progress());
            return true;
        }
        if (failed && op != Cdb.SANITIZE && (mediumAccess || op == Cdb.TEST_UNIT_READY)) {
            lc.failWith(t, Sense.MEDIUM_ERROR, Sense.SANITIZE_COMMAND_FAILED, -1, -1, -1, true);
            return true;
        }
        return false;
    }
}
