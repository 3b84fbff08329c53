package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventFdTest {
    @Test
    void signalsAddUpAndDrainResets() {
        try (EventFd e = EventFd.create(true)) {
            assertTrue(e.fd() >= 0);
            assertEquals(0, e.drain(), "nothing pending");
            assertFalse(e.await(0));
            e.signal();
            e.signal();
            e.signal();
            assertTrue(e.await(0));
            assertEquals(3, e.drain());
            assertEquals(0, e.drain());
            assertFalse(e.await(1_000_000));
        }
    }

    @Test
    void awaitWakesWhenAnotherThreadSignals() throws Exception {
        try (EventFd e = EventFd.create(false)) {
            CountDownLatch started = new CountDownLatch(1);
            Thread signaller = new Thread(() -> {
                try {
                    started.await();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
                e.signal();
            });
            signaller.start();
            started.countDown();
            assertTrue(e.await(-1), "waits without limit until signalled");
            assertEquals(1, e.drain());
            signaller.join();
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseFailsWithEbadf() {
        EventFd e = EventFd.create(true);
        e.close();
        e.close();
        NativeException ex = assertThrows(NativeException.class, e::signal);
        assertEquals(Errno.EBADF, ex.errno());
    }
}
