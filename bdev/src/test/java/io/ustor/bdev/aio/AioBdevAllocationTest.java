package io.ustor.bdev.aio;

import io.ustor.bdev.BdevChannel;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevIoCallback;
import io.ustor.bdev.BdevRegistry;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.Reactor;
import io.ustor.reactor.ReactorGroup;
import io.ustor.reactor.ReactorOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Reads, writes (one buffer and vectored) and flushes through the aio bdev allocate nothing on the reactor once warm. */
class AioBdevAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Keeps {@code depth} I/Os in flight until {@code total} completed; one object is every io's callback. */
    static final class Driver implements BdevIoCallback {
        final BdevDesc desc;
        final BdevChannel ch;
        final MemorySegment[] bufs;
        final MemorySegment[][] vecs;
        final long blocks;
        long total, submitted, completed, failed;
        CompletableFuture<Long> done;

        Driver(BdevDesc desc, BdevChannel ch, MemorySegment[] bufs, MemorySegment[][] vecs) {
            this.desc = desc;
            this.ch = ch;
            this.bufs = bufs;
            this.vecs = vecs;
            this.blocks = desc.bdev().numBlocks();
        }

        CompletableFuture<Long> start(long n) {
            total = n;
            submitted = completed = failed = 0;
            done = new CompletableFuture<>();
            for (int i = 0; i < bufs.length; i++) {
                submitOne(i);
            }
            return done;
        }

        void submitOne(int slot) {
            long off = (submitted * 7919 % (blocks / 8)) * 8;
            // Mostly reads and writes; a flush now and then (each one is a journal commit, slow on purpose).
            int rc = submitted % 1000 == 999 ? desc.flush(ch, 0, blocks, this, null) : switch ((int) (submitted % 4)) {
                case 0, 1 -> desc.read(ch, bufs[slot], off, 8, this, null);
                case 2 -> desc.write(ch, bufs[slot], off, 8, this, null);
                default -> desc.writev(ch, vecs[slot], 2, off, 8, this, null);
            };
            if (rc != 0) {
                throw new IllegalStateException("submit failed: " + rc);
            }
            submitted++;
        }

        @Override
        public void onComplete(BdevIo io, boolean success, Object cbArg) {
            completed++;
            if (!success) {
                failed++;
            }
            if (submitted < total) {
                submitOne((int) (submitted % bufs.length));
            } else if (completed == total) {
                done.complete(failed);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = FileEngine.class, names = {"IO_URING", "LINUX_AIO"})
    void hundredThousandIosAllocateNothingOnTheReactor(FileEngine engine) throws Exception {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled());
        Path target = Path.of("target").toAbsolutePath();
        Files.createDirectories(target);
        Path file = Files.createTempFile(target, "aio-alloc", ".img");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw");
             ReactorGroup group = ReactorGroup.start(CoreMask.parse("[0]"),
                     ReactorOptions.defaults().withIdleMode(IdleMode.BUSY_SPIN));
             Arena arena = Arena.ofShared()) {
            f.setLength(64L << 20);
            BdevRegistry registry = new BdevRegistry(group);
            AioBdev b = AioBdev.create(new AioBdev.Options("AioAlloc", file.toString(), 4096).withEngine(engine));
            registry.register(b);
            BdevDesc desc = registry.open("AioAlloc", true, (t, x) -> {
            });
            Reactor r = group.reactor(0);
            BdevChannel ch = r.call(desc::getIoChannel).get(20, TimeUnit.SECONDS);
            int depth = 32;
            MemorySegment[] bufs = new MemorySegment[depth];
            MemorySegment[][] vecs = new MemorySegment[depth][];
            for (int i = 0; i < depth; i++) {
                bufs[i] = arena.allocate(8 * 4096, 4096);
                vecs[i] = new MemorySegment[]{bufs[i].asSlice(0, 4096), bufs[i].asSlice(4096, 7 * 4096)};
            }
            Driver driver = new Driver(desc, ch, bufs, vecs);
            long tid = r.threadId();
            long[] allocated = new long[40];
            int round = 0;
            for (; round < allocated.length; round++) {
                long before = THREADS.getThreadAllocatedBytes(tid);
                CompletableFuture<Long> done = r.call(() -> driver.start(100_000)).get(20, TimeUnit.SECONDS);
                assertEquals(0L, done.get(120, TimeUnit.SECONDS), "failed ios");
                // The call() hand-offs themselves allocate a little on the reactor; far below the slack.
                allocated[round] = THREADS.getThreadAllocatedBytes(tid) - before;
                if (allocated[round] < 64 * 1024) {
                    break;
                }
            }
            assertTrue(round < allocated.length, engine + ": 100k ios still allocate when warm: " + Arrays.toString(allocated));
            assertEquals(0, b.bouncedIos());
            r.call(() -> {
                desc.putIoChannel(ch);
                return null;
            }).get(20, TimeUnit.SECONDS);
            desc.close();
            registry.unregisterAll().get(20, TimeUnit.SECONDS);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
