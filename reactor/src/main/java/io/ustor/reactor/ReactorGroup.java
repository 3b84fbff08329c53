package io.ustor.reactor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reactors of one process: one thread per core of a {@link CoreMask}, started together and shut down together.
 */
public final class ReactorGroup implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReactorGroup.class.getName());
    /** How long {@link #close()} waits for each reactor thread to finish. */
    private static final long JOIN_TIMEOUT_MILLIS = 10_000L;

    private final CoreMask mask;
    private final ReactorOptions options;
    private final Reactor[] reactors;
    private final List<Reactor> reactorList;
    private final AtomicInteger nextIndex = new AtomicInteger();
    private final AtomicBoolean closing = new AtomicBoolean();

    private ReactorGroup(CoreMask mask, ReactorOptions options) {
        this.mask = mask;
        this.options = options;
        int[] cores = mask.cores();
        this.reactors = new Reactor[cores.length];
        try {
            for (int i = 0; i < cores.length; i++) {
                reactors[i] = new Reactor(this, i, cores[i], options);
            }
        } catch (RuntimeException | Error e) {
            for (Reactor r : reactors) {
                if (r != null) {
                    r.discard();
                }
            }
            throw e;
        }
        this.reactorList = List.of(reactors);
    }

    /**
     * Starts one reactor per core of {@code mask}, each on its own thread named "reactor_N", and returns once all
     * are running (pinned, or unpinned with a logged warning when the OS refuses the core).
     */
    public static ReactorGroup start(CoreMask mask, ReactorOptions options) {
        if (mask == null || options == null) {
            throw new IllegalArgumentException("core mask and options must not be null");
        }
        ReactorGroup group = new ReactorGroup(mask, options);
        for (Reactor r : group.reactors) {
            r.start();
        }
        try {
            for (Reactor r : group.reactors) {
                r.awaitStarted();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.close();
            throw new IllegalStateException("interrupted while starting reactors " + mask, e);
        }
        LOG.log(System.Logger.Level.INFO, "started " + group.reactors.length + " reactor(s) on cores "
                + mask.toListString() + " (mask " + mask + ", " + options.idleMode() + ")");
        return group;
    }

    /** {@link #start(CoreMask, ReactorOptions)} with {@link ReactorOptions#defaults()}. */
    public static ReactorGroup start(CoreMask mask) {
        return start(mask, ReactorOptions.defaults());
    }

    public int size() {
        return reactors.length;
    }

    /** The reactor at {@code index} (0..size-1), not the core number. */
    public Reactor reactor(int index) {
        return reactors[index];
    }

    /** The reactor running on {@code core}, or null when the mask does not include it. */
    public Reactor reactorOnCore(int core) {
        for (Reactor r : reactors) {
            if (r.core() == core) {
                return r;
            }
        }
        return null;
    }

    public List<Reactor> reactors() {
        return reactorList;
    }

    /** The reactors in turn (round robin), for spreading connections and jobs. Any thread. */
    public Reactor next() {
        return reactors[Math.floorMod(nextIndex.getAndIncrement(), reactors.length)];
    }

    /**
     * Runs {@code task} on every reactor (each on its own thread, concurrently) and completes with the results in
     * reactor index order, or exceptionally with the first failure. For control-plane changes that every reactor must
     * acknowledge (publish a new object, then answer the RPC).
     */
    public <T> CompletableFuture<List<T>> callOnEach(Function<Reactor, T> task) {
        List<CompletableFuture<T>> calls = new ArrayList<>(reactors.length);
        for (Reactor r : reactors) {
            calls.add(r.call(() -> task.apply(r)));
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture<?>[]::new)).thenApply(ignored -> {
            List<T> results = new ArrayList<>(calls.size());
            for (CompletableFuture<T> c : calls) {
                results.add(c.join());
            }
            return results;
        });
    }

    public CoreMask coreMask() {
        return mask;
    }

    public ReactorOptions options() {
        return options;
    }

    /** True once {@link #close()} began. */
    public boolean isClosed() {
        return closing.get();
    }

    /**
     * Shuts down: every reactor stops accepting messages at once (sends return false), runs the messages it had
     * accepted, drops its pollers, destroys the channels still held on it, and ends; then this waits for the
     * threads (up to 10 s each, logging any that do not stop). Idempotent; callable from a reactor thread too
     * (it then does not wait for its own thread).
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        for (Reactor r : reactors) {
            r.requestStop();
        }
        Reactor self = Reactor.current();
        boolean interrupted = false;
        for (Reactor r : reactors) {
            if (r == self) {
                continue;
            }
            try {
                if (!r.join(JOIN_TIMEOUT_MILLIS)) {
                    LOG.log(System.Logger.Level.WARNING, r.name() + " did not stop within " + JOIN_TIMEOUT_MILLIS
                            + " ms");
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        LOG.log(System.Logger.Level.INFO, "reactors on cores " + mask.toListString() + " stopped");
    }

    @Override
    public String toString() {
        return "reactors " + mask;
    }
}
