package io.ustor.vhost;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.reactor.Reactor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs bdev I/O on a reactor from a test thread and waits for it: 0 on success, else the errno (or -submit rc). */
final class BlkHarness {
    private BlkHarness() {
    }

    interface Op {
        int start(BdevDesc d, BdevChannel ch, BdevIoCallback cb);
    }

    static int run(Reactor r, BdevDesc d, Op op) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        BdevIoCallback cb = (BdevIo io, boolean ok, Object arg) -> done.complete(ok ? 0 : Math.max(1, io.errno()));
        int rc = r.call(() -> {
            BdevChannel ch = d.getIoChannel();
            int x = op.start(d, ch, cb);
            // the channel stays referenced by the io until completion; put it back afterwards
            done.whenComplete((v, t) -> r.submit(() -> d.putIoChannel(ch)));
            if (x != 0) {
                done.complete(x);
            }
            return x;
        }).get(10, TimeUnit.SECONDS);
        int result = done.get(30, TimeUnit.SECONDS);
        return rc != 0 ? rc : result;
    }

    static int write(Reactor r, BdevDesc d, MemorySegment buf, long off, long n) throws Exception {
        return run(r, d, (dd, ch, cb) -> dd.write(ch, buf, off, n, cb, null));
    }

    static int read(Reactor r, BdevDesc d, MemorySegment buf, long off, long n) throws Exception {
        return run(r, d, (dd, ch, cb) -> dd.read(ch, buf, off, n, cb, null));
    }
}
