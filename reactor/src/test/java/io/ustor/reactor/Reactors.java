package io.ustor.reactor;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** Test helpers: a two-reactor group on cores 0 and 1, and ways to run code there and wait for conditions. */
final class Reactors {
    static final Duration WAIT = Duration.ofSeconds(10);

    private Reactors() {
    }

    /** A condition that may run code on a reactor to check itself. */
    @FunctionalInterface
    interface Condition {
        boolean holds() throws Exception;
    }

    /** Two ADAPTIVE reactors (kind to a shared 2-core machine) on cores 0 and 1. */
    static ReactorGroup two() {
        return ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE));
    }

    static ReactorGroup two(ReactorOptions options) {
        return ReactorGroup.start(CoreMask.parse("[0,1]"), options);
    }

    /** Runs {@code task} on {@code r} and waits for its result. */
    static <T> T on(Reactor r, Callable<T> task) throws Exception {
        try {
            return r.call(task).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    static void onVoid(Reactor r, Runnable task) throws Exception {
        on(r, () -> {
            task.run();
            return null;
        });
    }

    /** Waits until {@code condition} holds; fails after {@link #WAIT}. */
    static void await(String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }
}
