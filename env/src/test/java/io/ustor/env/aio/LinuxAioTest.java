package io.ustor.env.aio;

import io.ustor.env.uring.FileIoQueue;
import io.ustor.env.uring.FileIoQueueContract;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link LinuxAio} passes the same contract as io_uring. */
class LinuxAioTest extends FileIoQueueContract {
    @Override
    protected FileIoQueue open(int depth, int maxIovs) {
        return LinuxAio.open(depth, maxIovs);
    }

    @Test
    void reapsFromTheMappedRing() {
        assertEquals("linux-aio", queue.engine());
        assertTrue(((LinuxAio) queue).userSpaceReaping(), "the kernel's aio_ring layout is the known one");
        assertEquals(64, queue.depth());
    }
}
