package io.ustor.reactor;

import io.ustor.env.Affinity;
import io.ustor.env.EventFd;
import io.ustor.reactor.internal.MessageQueue;
import io.ustor.reactor.internal.SleepSet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * One polling thread pinned to one core (SPDK's reactor and spdk_thread in one). Its loop: run a batch of messages,
 * run every active poller, run the timed pollers that are due, account the iteration as busy (something did work)
 * or idle, and when idle, spin or back off per its {@link IdleMode}. Nothing else runs on the thread, and nothing on
 * it blocks except the idle sleep of an ADAPTIVE reactor.
 *
 * <p>Other threads reach a reactor only through messages: {@link #send} (zero-allocation, for the data path),
 * {@link #submit} and {@link #call} (control plane). Pollers are added on the reactor's own thread; changes made
 * while pollers or handlers run take effect at the next loop boundary. A poller or handler that throws is logged by
 * name and counted, and the loop goes on.
 */
public final class Reactor {
    private static final System.Logger LOG = System.getLogger(Reactor.class.getName());
    private static final AtomicBoolean PIN_FAILURE_LOGGED = new AtomicBoolean();
    private static final PollerUnit[] NO_POLLERS = new PollerUnit[0];

    /** ADAPTIVE back-off: spin this long after the last work, then yield until YIELD_NANOS, then sleep. */
    private static final long SPIN_NANOS = 20_000L, YIELD_NANOS = 200_000L;
    private static final long FIRST_SLEEP_NANOS = 10_000L;
    /**
     * Sleep cap when no poller needs a periodic tick (none, or all interrupt pollers): only messages, descriptors and
     * timers can make work then; the cap is a safety net.
     */
    private static final long MAX_SLEEP_NO_POLLERS_NANOS = 100_000_000L;

    /** Sleep handshake states (see {@link #idleSleep} and {@link #wakeIfSleeping}). */
    private static final int AWAKE = 0, SLEEPING = 1, SIGNALLING = 2, DEAD = 3;

    private static final VarHandle BUSY, IDLE, LOOPS, MESSAGES, QUEUE_FULL, EXCEPTIONS, SLEEPS, WAKE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            BUSY = l.findVarHandle(Reactor.class, "busyNanos", long.class).withInvokeExactBehavior();
            IDLE = l.findVarHandle(Reactor.class, "idleNanos", long.class).withInvokeExactBehavior();
            LOOPS = l.findVarHandle(Reactor.class, "loops", long.class).withInvokeExactBehavior();
            MESSAGES = l.findVarHandle(Reactor.class, "messages", long.class).withInvokeExactBehavior();
            QUEUE_FULL = l.findVarHandle(Reactor.class, "queueFull", long.class).withInvokeExactBehavior();
            EXCEPTIONS = l.findVarHandle(Reactor.class, "exceptions", long.class).withInvokeExactBehavior();
            SLEEPS = l.findVarHandle(Reactor.class, "sleeps", long.class).withInvokeExactBehavior();
            WAKE = l.findVarHandle(Reactor.class, "wakeState", int.class).withInvokeExactBehavior();
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ReactorGroup group;
    private final int index, core;
    private final String name;
    private final MessageQueue queue;
    private final int messageBatch;
    private final boolean pinRequested;
    private final EventFd wakeFd;
    private volatile IdleMode idleMode;
    private volatile boolean stopRequested, pinned;
    private volatile int osThreadId;
    private volatile int wakeState;
    final ReactorThread thread;
    private final CountDownLatch started = new CountDownLatch(1);

    // Reactor-thread state.
    private PollerUnit[] active = NO_POLLERS, timed = NO_POLLERS;
    private final ArrayList<PollerUnit> pendingPollers = new ArrayList<>();
    private boolean pollersChanged;
    private long nextTimedDue = Long.MAX_VALUE;
    /** What an ADAPTIVE sleep waits on: the wakeup eventfd and the interrupt pollers' descriptors. */
    private SleepSet sleepSet;
    /** True when every active poller is an interrupt poller (or there are none): sleeps need no periodic tick. */
    private boolean sleepUntilEvent = true;
    private long idleStart, sleepNanos;
    private boolean idling;
    /** The loop's latest clock reading (see {@link #now()}); written by the reactor thread only. */
    private long now = System.nanoTime();
    /** Control-plane messages this reactor could not send yet because the target's queue was full. */
    private final ArrayDeque<Deferred> deferred = new ArrayDeque<>();
    /** IoDevices that hold a channel on this reactor (released at shutdown if their users did not). */
    private final ArrayList<IoDevice<?>> devicesWithChannels = new ArrayList<>();
    /** Every poller, for stats from any thread; replaced (never mutated) on each change. */
    private volatile PollerUnit[] allPollers = NO_POLLERS;

    // Counters: written by the reactor thread (queueFull by senders) with opaque stores, read by anyone.
    private long busyNanos, idleNanos, loops, messages, queueFull, exceptions, sleeps;

    Reactor(ReactorGroup group, int index, int core, ReactorOptions options) {
        this.group = group;
        this.index = index;
        this.core = core;
        this.name = "reactor_" + core;
        this.queue = new MessageQueue(options.messageQueueCapacity());
        this.messageBatch = options.messageBatch();
        this.pinRequested = options.pinThreads();
        this.idleMode = options.idleMode();
        this.wakeFd = EventFd.create(true);
        this.sleepSet = new SleepSet(wakeFd.fd(), new int[0]);
        this.thread = new ReactorThread(this, this::run);
    }

    /** The reactor whose thread is calling, or null on any other thread. */
    public static Reactor current() {
        return Thread.currentThread() instanceof ReactorThread t ? t.reactor : null;
    }

    /** Position in the group, 0..size-1 (the index for per-reactor arrays). */
    public int index() {
        return index;
    }

    /** The core this reactor runs on (pinned when the OS allows). */
    public int core() {
        return core;
    }

    /** "reactor_N", N being the core; also the thread's name. */
    public String name() {
        return name;
    }

    public ReactorGroup group() {
        return group;
    }

    /** True on this reactor's own thread. */
    public boolean isCurrent() {
        return Thread.currentThread() == thread;
    }

    /** Whether the thread is pinned to its core (false when pinning was off or refused). */
    public boolean pinned() {
        return pinned;
    }

    public IdleMode idleMode() {
        return idleMode;
    }

    /** Changes this reactor's idle strategy; any thread, takes effect within one loop iteration. */
    public void idleMode(IdleMode mode) {
        if (mode == null) {
            throw new IllegalArgumentException("idle mode is null");
        }
        idleMode = mode;
        wakeIfSleeping();
    }

    /**
     * Queues {@code handler.onMessage(this, arg, value)} to run on this reactor. Any thread, allocation-free,
     * lock-free, never blocks. Returns false, and counts it, when the queue is full; false also once shutdown began.
     * Messages from one sender run in the order sent.
     */
    public boolean send(MessageHandler handler, Object arg, long value) {
        if (queue.offer(handler, arg, value)) {
            if (wakeState == SLEEPING) {
                wakeIfSleeping();
            }
            return true;
        }
        if (!queue.isClosed()) {
            long ignored = (long) QUEUE_FULL.getAndAdd(this, 1L);
        }
        return false;
    }

    /**
     * Queues {@code task} to run on this reactor; false (counted) when the queue is full or shut down. Control plane:
     * a lambda capturing state allocates; use {@link #send} on the data path and {@link #call} when a full queue
     * should be waited out.
     */
    public boolean submit(Runnable task) {
        return send(RUN_TASK, task, 0);
    }

    /**
     * Runs {@code task} on this reactor and completes the future with its result or exception. For control-plane
     * threads (RPC): when the queue is full it retries (from another reactor: on that reactor's next loops; from any
     * other thread: after short sleeps). The future fails with RejectedExecutionException once this reactor is shut
     * down. Do not wait on the future from this reactor's own thread.
     */
    public <T> CompletableFuture<T> call(Callable<T> task) {
        CallTask<T> call = new CallTask<>(task);
        if (!post(RUN_CALL, call, 0)) {
            call.reject(this);
        }
        return call.future;
    }

    /**
     * Registers a poller that runs every loop iteration. Call on this reactor's thread (from a poller or a handler
     * too); it starts at the next loop boundary.
     */
    public PollerHandle addPoller(String name, Poller poller) {
        return addTimedPoller(name, poller, 0);
    }

    /**
     * Registers a poller that runs once every {@code periodNanos} (0: every iteration). Call on this reactor's
     * thread; it first runs one period after the next loop boundary.
     */
    public PollerHandle addTimedPoller(String name, Poller poller, long periodNanos) {
        if (name == null || poller == null) {
            throw new IllegalArgumentException("poller name and poller must not be null");
        }
        if (periodNanos < 0) {
            throw new IllegalArgumentException("poller " + name + ": negative period " + periodNanos);
        }
        if (!isCurrent()) {
            throw new IllegalStateException("poller " + name + ": addPoller must run on " + this.name
                    + "'s thread; use submit or call from " + Thread.currentThread().getName());
        }
        PollerUnit unit = new PollerUnit(this, name, poller, periodNanos);
        pendingPollers.add(unit);
        pollersChanged = true;
        return unit;
    }

    /**
     * Registers a poller that has work only when {@code fd} is readable: a socket, an eventfd that io_uring or
     * another thread signals, an epoll set. It runs every loop iteration like {@link #addPoller}, and when an
     * ADAPTIVE reactor sleeps it also wakes when {@code fd} becomes readable. A reactor whose active pollers are all
     * interrupt pollers sleeps until an event, a message or a timer, instead of waking every
     * {@link ReactorOptions#MAX_ADAPTIVE_SLEEP_NANOS} to poll. The poller must consume what makes the descriptor
     * readable (level-triggered), and must unregister before closing it. Call on this reactor's thread.
     */
    public PollerHandle addInterruptPoller(String name, Poller poller, int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("poller " + name + ": bad descriptor " + fd);
        }
        PollerUnit unit = (PollerUnit) addTimedPoller(name, poller, 0);
        unit.interruptFd = fd;
        return unit;
    }

    /**
     * Registers a poller whose work only ever comes from this reactor's own pollers and messages: completions it
     * deferred, requests it parked for a retry. Such a poller finds work only in an iteration after one that was
     * busy, so an ADAPTIVE reactor need not wake to run it: one whose other pollers are interrupt pollers still
     * sleeps until an event. It runs every loop iteration like {@link #addPoller}. Call on this reactor's thread.
     */
    public PollerHandle addLocalPoller(String name, Poller poller) {
        PollerUnit unit = (PollerUnit) addTimedPoller(name, poller, 0);
        unit.local = true;
        return unit;
    }

    void unregisterPoller(PollerUnit unit) {
        if (isCurrent()) {
            if (unit.state() != PollerUnit.REMOVED) {
                unit.state(PollerUnit.REMOVED);
                pollersChanged = true;
            }
        } else if (unit.state() != PollerUnit.REMOVED && !post(UNREGISTER_POLLER, unit, 0)) {
            unit.state(PollerUnit.REMOVED); // reactor gone: its pollers are gone too
        }
    }

    /** A snapshot of this reactor's counters; any thread. */
    public ReactorStats stats() {
        PollerUnit[] all = allPollers;
        int timedCount = 0;
        for (PollerUnit p : all) {
            if (p.periodNanos > 0) {
                timedCount++;
            }
        }
        return new ReactorStats(name, index, core, idleMode, pinned, (long) BUSY.getOpaque(this),
                (long) IDLE.getOpaque(this), (long) LOOPS.getOpaque(this), (long) MESSAGES.getOpaque(this),
                (long) QUEUE_FULL.getOpaque(this), (long) EXCEPTIONS.getOpaque(this), (long) SLEEPS.getOpaque(this),
                all.length - timedCount, timedCount);
    }

    /** Snapshots of the registered pollers' counters (active first, then timed); any thread. */
    public List<PollerStats> pollerStats() {
        PollerUnit[] all = allPollers;
        List<PollerStats> out = new ArrayList<>(all.length);
        for (PollerUnit p : all) {
            out.add(p.stats());
        }
        return out;
    }

    /**
     * The reactor's clock (System.nanoTime() units): the time its loop last read, which it does before the first
     * poller of each pass, after every poller and after an idle wait. So on the reactor thread, within a poller or a
     * message handler, it is the time that poller (or that pass's message batch) started: accurate to one poller run
     * (one loop pass for messages), and it never goes backwards. It costs a field read where System.nanoTime() costs
     * 25-100 ns on a VM: for per-I/O timestamps (latency statistics), like SPDK's per-I/O TSC ticks. Meaningful on
     * this reactor's thread; another thread may see a slightly older value.
     */
    public long now() {
        return now;
    }

    /** Reads the clock and publishes it as {@link #now()}. Reactor thread. */
    private long tick() {
        long t = System.nanoTime();
        now = t;
        return t;
    }

    /** Messages waiting in the queue, approximately; any thread. */
    public int queuedMessages() {
        return queue.size();
    }

    /** The message queue's capacity (a power of two). */
    public int queueCapacity() {
        return queue.capacity();
    }

    /** The kernel's id of the reactor thread (gettid; SPDK's "tid"), for top -H, perf, async-profiler. */
    public int osThreadId() {
        return osThreadId;
    }

    /** The Java thread's id, for per-thread CPU and allocation figures (ThreadMXBean). */
    public long threadId() {
        return thread.threadId();
    }

    @Override
    public String toString() {
        return name;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Control-plane delivery that does not give up on a full queue.

    /**
     * Like {@link #send}, but a full queue is retried rather than refused: a reactor thread keeps the message in its
     * own deferred list and resends it on its next loops; another thread sleeps briefly and retries. Returns false
     * only when this reactor has shut down. Control plane.
     */
    boolean post(MessageHandler handler, Object arg, long value) {
        Reactor here = current();
        if (here != null && !here.deferred.isEmpty()) { // keep posts from this reactor in order
            if (queue.isClosed()) {
                return false;
            }
            here.deferred.add(new Deferred(this, handler, arg, value));
            return true;
        }
        if (send(handler, arg, value)) {
            return true;
        }
        if (queue.isClosed()) {
            return false;
        }
        if (here != null) {
            here.deferred.add(new Deferred(this, handler, arg, value));
            return true;
        }
        long backoff = 10_000L;
        while (!send(handler, arg, value)) {
            if (queue.isClosed()) {
                return false;
            }
            LockSupport.parkNanos(backoff);
            backoff = Math.min(backoff * 2, 1_000_000L);
        }
        return true;
    }

    private record Deferred(Reactor target, MessageHandler handler, Object arg, long value) {
    }

    /** Resends deferred messages in order; stops at the first target that is still full. */
    private void retryDeferred() {
        Deferred d;
        while ((d = deferred.peek()) != null) {
            if (d.target.send(d.handler, d.arg, d.value)) {
                deferred.poll();
            } else if (d.target.queue.isClosed()) {
                deferred.poll();
                dropped(d.target, d.arg);
            } else {
                return;
            }
        }
    }

    private static void dropped(Reactor target, Object arg) {
        if (arg instanceof CallTask<?> call) {
            call.reject(target);
        } else {
            LOG.log(System.Logger.Level.WARNING, target.name + " shut down; dropped a pending control message ("
                    + arg + ")");
        }
    }

    private static final MessageHandler RUN_TASK = (r, arg, v) -> ((Runnable) arg).run();
    private static final MessageHandler RUN_CALL = (r, arg, v) -> ((CallTask<?>) arg).run();
    private static final MessageHandler UNREGISTER_POLLER = (r, arg, v) -> ((PollerUnit) arg).unregister();

    /** A {@link #call} in flight. */
    private static final class CallTask<T> {
        final Callable<T> task;
        final CompletableFuture<T> future = new CompletableFuture<>();

        CallTask(Callable<T> task) {
            this.task = task;
        }

        void run() {
            try {
                future.complete(task.call());
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        }

        void reject(Reactor r) {
            future.completeExceptionally(new RejectedExecutionException(r.name + " is shut down"));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // io_device bookkeeping (reactor thread).

    void trackDevice(IoDevice<?> device) {
        devicesWithChannels.add(device);
    }

    void untrackDevice(IoDevice<?> device) {
        devicesWithChannels.remove(device);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Lifecycle (called by ReactorGroup).

    void start() {
        thread.start();
    }

    /** Releases the eventfd of a reactor whose thread never started (the group failed to start). */
    void discard() {
        wakeFd.close();
    }

    void awaitStarted() throws InterruptedException {
        started.await();
    }

    /** Stops accepting messages and asks the loop to finish. Any thread; idempotent. */
    void requestStop() {
        queue.close();
        stopRequested = true;
        wakeIfSleeping();
    }

    boolean join(long timeoutMillis) throws InterruptedException {
        thread.join(timeoutMillis);
        return !thread.isAlive();
    }

    // ---------------------------------------------------------------------------------------------------------
    // The loop.

    private void run() {
        osThreadId = io.ustor.env.Syscall.gettid();
        pin();
        started.countDown();
        try {
            loop();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, name + ": loop failed; shutting this reactor down", t);
            queue.close();
        } finally {
            finish();
        }
    }

    private void pin() {
        if (!pinRequested) {
            return;
        }
        try {
            Affinity.pinCurrentThread(core);
            pinned = true;
        } catch (RuntimeException e) {
            System.Logger.Level level = PIN_FAILURE_LOGGED.compareAndSet(false, true)
                    ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG;
            LOG.log(level, name + ": cannot pin to core " + core + " (" + e.getMessage() + "); running unpinned");
        }
    }

    private void loop() {
        long start = tick();
        while (!stopRequested) {
            if (pollersChanged) {
                applyPollerChanges(start);
            }
            int work = runMessages(messageBatch);
            long t = tick();
            PollerUnit[] a = active;
            for (int i = 0; i < a.length; i++) {
                PollerUnit p = a[i];
                if (p.state() == PollerUnit.ACTIVE) {
                    int rc = runPoller(p);
                    if (rc > 0) {
                        long t2 = tick();
                        p.account(rc, t2 - t);
                        t = t2;
                        work = 1;
                    } else {
                        // No clock read after a poller that found nothing (most of them, most loops): its few
                        // nanoseconds go to the next poller that works, and the loop reads the clock once.
                        p.account(rc, 0);
                    }
                }
            }
            if (t >= nextTimedDue) {
                work |= runTimedPollers(t);
                t = tick();
            }
            if (!deferred.isEmpty()) {
                retryDeferred();
            }
            LOOPS.setOpaque(this, loops + 1);
            if (work != 0) {
                BUSY.setOpaque(this, busyNanos + (t - start));
                idling = false;
                start = t;
            } else {
                IDLE.setOpaque(this, idleNanos + (t - start));
                start = idle(t);
            }
        }
    }

    /** Runs up to {@code max} messages; returns how many ran. */
    private int runMessages(int max) {
        MessageQueue q = queue;
        int n = 0;
        while (n < max && q.poll()) {
            MessageHandler h = q.handler;
            if (h != null) { // null: a send that lost the race with shutdown
                try {
                    h.onMessage(this, q.arg, q.value);
                } catch (Throwable t) {
                    handlerFailed(h, t);
                }
                n++;
            }
            q.clearCurrent();
        }
        if (n > 0) {
            MESSAGES.setOpaque(this, messages + n);
        }
        return n;
    }

    private int runPoller(PollerUnit p) {
        try {
            return p.poller.poll();
        } catch (Throwable t) {
            long n = p.countException();
            countException();
            if (Long.bitCount(n) == 1) { // 1st, 2nd, 4th, 8th...: enough to notice, not enough to flood
                LOG.log(System.Logger.Level.ERROR, name + ": poller " + p.name + " threw (" + n
                        + " times so far); it stays registered", t);
            }
            return 0;
        }
    }

    private void handlerFailed(MessageHandler h, Throwable t) {
        long n = countException();
        if (n <= 16 || Long.bitCount(n) == 1) {
            LOG.log(System.Logger.Level.ERROR, name + ": message handler " + h.getClass().getName() + " threw ("
                    + n + " exceptions on this reactor so far)", t);
        }
    }

    private long countException() {
        long n = exceptions + 1;
        EXCEPTIONS.setOpaque(this, n);
        return n;
    }

    private int runTimedPollers(long now) {
        int work = 0;
        long next = Long.MAX_VALUE;
        long t = now;
        PollerUnit[] a = timed;
        for (int i = 0; i < a.length; i++) {
            PollerUnit p = a[i];
            if (p.state() != PollerUnit.ACTIVE) {
                continue;
            }
            if (t >= p.nextDue) {
                int rc = runPoller(p);
                long t2 = tick();
                p.account(rc, t2 - t);
                t = t2;
                p.nextDue = t + p.periodNanos;
                work |= rc > 0 ? 1 : 0;
            }
            next = Math.min(next, p.nextDue);
        }
        nextTimedDue = next;
        return work;
    }

    /** Loop boundary: starts pending pollers, drops removed ones, republishes the arrays. Control plane. */
    private void applyPollerChanges(long now) {
        pollersChanged = false;
        ArrayList<PollerUnit> newActive = new ArrayList<>(active.length + pendingPollers.size());
        ArrayList<PollerUnit> newTimed = new ArrayList<>(timed.length + pendingPollers.size());
        for (PollerUnit p : active) {
            if (p.state() == PollerUnit.ACTIVE) {
                newActive.add(p);
            }
        }
        for (PollerUnit p : timed) {
            if (p.state() == PollerUnit.ACTIVE) {
                newTimed.add(p);
            }
        }
        for (PollerUnit p : pendingPollers) {
            if (p.state() == PollerUnit.PENDING) {
                p.state(PollerUnit.ACTIVE);
                if (p.periodNanos > 0) {
                    p.nextDue = now + p.periodNanos;
                    newTimed.add(p);
                } else {
                    newActive.add(p);
                }
            }
        }
        pendingPollers.clear();
        active = newActive.toArray(NO_POLLERS);
        timed = newTimed.toArray(NO_POLLERS);
        long next = Long.MAX_VALUE;
        for (PollerUnit p : timed) {
            next = Math.min(next, p.nextDue);
        }
        nextTimedDue = next;
        rebuildSleepSet();
        PollerUnit[] all = Arrays.copyOf(active, active.length + timed.length);
        System.arraycopy(timed, 0, all, active.length, timed.length);
        allPollers = all;
    }

    private void rebuildSleepSet() {
        int n = 0;
        for (PollerUnit p : active) {
            if (p.interruptFd >= 0) {
                n++;
            }
        }
        int[] fds = new int[n];
        n = 0;
        for (PollerUnit p : active) {
            if (p.interruptFd >= 0) {
                fds[n++] = p.interruptFd;
            }
        }
        int local = 0;
        for (PollerUnit p : active) {
            if (p.local) {
                local++;
            }
        }
        sleepUntilEvent = n + local == active.length;
        sleepSet = new SleepSet(wakeFd.fd(), fds);
    }

    /** ppoll reported descriptors that are not open: those pollers fall back to the periodic idle tick. */
    private void dropInvalidInterruptFds() {
        int[] invalid = sleepSet.invalid();
        for (PollerUnit p : active) {
            for (int fd : invalid) {
                if (p.interruptFd == fd) {
                    LOG.log(System.Logger.Level.WARNING, name + ": poller " + p.name + ": descriptor " + fd
                            + " is not open; polling it on the idle tick instead");
                    p.interruptFd = -1;
                }
            }
        }
        rebuildSleepSet();
    }

    /** An iteration found nothing to do: wait per the idle mode. Returns the time the wait ended. */
    private long idle(long now) {
        if (idleMode == IdleMode.BUSY_SPIN) {
            Thread.onSpinWait();
            return now;
        }
        if (!idling) {
            idling = true;
            idleStart = now;
            sleepNanos = FIRST_SLEEP_NANOS;
        }
        long idleFor = now - idleStart;
        if (idleFor < SPIN_NANOS) {
            Thread.onSpinWait();
            return now;
        }
        if (idleFor < YIELD_NANOS && !sleepUntilEvent) {
            // Yield rather than sleep while a poller needs ticks; when only events can make work, ppoll at once:
            // it wakes on them, and yielding would burn the core for nothing.
            Thread.yield();
            // a yield may give up a whole time slice: count it as idle, and let messages after it see a fresh clock
            long after = tick();
            IDLE.setOpaque(this, idleNanos + (after - now));
            return after;
        }
        long limit = sleepUntilEvent ? MAX_SLEEP_NO_POLLERS_NANOS : ReactorOptions.MAX_ADAPTIVE_SLEEP_NANOS;
        long timeout = Math.min(sleepNanos, limit);
        if (nextTimedDue != Long.MAX_VALUE) {
            timeout = Math.min(timeout, Math.max(0, nextTimedDue - now));
        }
        sleepNanos = Math.min(sleepNanos * 2, limit);
        if (timeout > 0) {
            idleSleep(timeout);
        }
        long after = tick();
        IDLE.setOpaque(this, idleNanos + (after - now));
        return after;
    }

    /**
     * Sleeps on the eventfd unless a message is already queued. The handshake with {@link #send}: this thread
     * publishes SLEEPING (a volatile CAS) and then reads the queue's tail; a sender advances the tail (a CAS) and
     * then reads the state. Whichever comes second sees the other, so a message is never left unnoticed while the
     * reactor sleeps.
     */
    private void idleSleep(long timeoutNanos) {
        if (!WAKE.compareAndSet(this, AWAKE, SLEEPING)) {
            return; // a sender is still signalling the previous sleep
        }
        if (queue.tail() != queue.head() || stopRequested || pollersChanged || !deferred.isEmpty()) {
            boolean ignored = WAKE.compareAndSet(this, SLEEPING, AWAKE);
            return;
        }
        SLEEPS.setOpaque(this, sleeps + 1);
        int ready = sleepSet.await(timeoutNanos);
        boolean ignored = WAKE.compareAndSet(this, SLEEPING, AWAKE); // fails when a sender got there first
        if ((ready & 1) != 0) {
            wakeFd.drain();
        }
        if ((ready & 4) != 0) {
            dropInvalidInterruptFds();
        }
    }

    /**
     * Wakes this reactor if an ADAPTIVE idle sleep holds it, so its pollers run now: for an outside event source (a
     * thread that saw a socket become readable, a device interrupt) that does not send a message. Any thread;
     * allocation-free, and no system call unless the reactor sleeps.
     */
    public void wakeup() {
        if (wakeState == SLEEPING) {
            wakeIfSleeping();
        }
    }

    /** Wakes the reactor if it sleeps on its eventfd; at most one of racing senders makes the syscall. */
    private void wakeIfSleeping() {
        if ((int) WAKE.getVolatile(this) == SLEEPING && WAKE.compareAndSet(this, SLEEPING, SIGNALLING)) {
            wakeFd.signal();
            WAKE.setVolatile(this, AWAKE);
        }
    }

    /**
     * Shutdown on the reactor thread: run every message accepted before the queue closed, drop the pollers, release
     * the channels still held here, then retire the eventfd once no sender can be signalling it.
     */
    private void finish() {
        try {
            long end = queue.tail(); // read after the close: covers exactly the accepted messages
            while (queue.head() < end) {
                if (runMessages(Integer.MAX_VALUE) == 0 && queue.head() < end) {
                    Thread.onSpinWait(); // a sender claimed a slot and is still filling it
                }
            }
            retryDeferred();
            for (Deferred d : deferred) {
                dropped(d.target, d.arg);
            }
            deferred.clear();
            for (PollerUnit p : pendingPollers) {
                p.state(PollerUnit.REMOVED);
            }
            for (PollerUnit p : allPollers) {
                p.state(PollerUnit.REMOVED);
            }
            pendingPollers.clear();
            active = NO_POLLERS;
            timed = NO_POLLERS;
            allPollers = NO_POLLERS;
            while (!devicesWithChannels.isEmpty()) {
                devicesWithChannels.getLast().releaseAtShutdown(this);
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, name + ": shutdown failed", t);
        } finally {
            while (!WAKE.compareAndSet(this, AWAKE, DEAD)) {
                Thread.onSpinWait();
            }
            wakeFd.close();
            LOG.log(System.Logger.Level.DEBUG, name + ": stopped");
        }
    }
}
