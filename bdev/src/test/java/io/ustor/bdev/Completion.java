package io.ustor.bdev;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A callback that records how one io ended, for tests that wait on it from the test thread. */
final class Completion implements BdevIoCallback {
    record Result(boolean success, BdevIoStatus status, int errno, IoType type, long offsetBlocks, long numBlocks,
                  Object cbArg, boolean insideSubmit) {
    }

    final CompletableFuture<Result> future = new CompletableFuture<>();
    /** Set by the test around a submit call, to prove callbacks never run inside it. */
    volatile boolean submitting;

    @Override
    public void onComplete(BdevIo io, boolean success, Object cbArg) {
        future.complete(new Result(success, io.status(), io.errno(), io.type(), io.offsetBlocks(), io.numBlocks(),
                cbArg, submitting));
    }

    Result await() throws Exception {
        return future.get(TestReactors.WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean done() {
        return future.isDone();
    }
}
