package io.ustor.bdev;

import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Test helpers: reactor groups kind to a shared 2-core machine, and running code on a reactor. */
final class TestReactors {
    static final Duration WAIT = Duration.ofSeconds(20);

    private TestReactors() {
    }

    static ReactorGroup one() {
        return ReactorGroup.start(CoreMask.parse("[0]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE));
    }

    static ReactorGroup two() {
        return ReactorGroup.start(CoreMask.parse("[0,1]"), ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE));
    }

    static <T> T on(Reactor r, Callable<T> task) throws Exception {
        try {
            return r.call(task).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }
}
