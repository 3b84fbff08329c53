package io.ustor.reactor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReactorOptionsTest {
    @Test
    void defaultsBusySpinPinnedAndWithersChangeOneThing() {
        ReactorOptions d = ReactorOptions.defaults();
        assertEquals(IdleMode.BUSY_SPIN, d.idleMode());
        assertTrue(d.pinThreads());
        assertEquals(65536, d.messageQueueCapacity());
        assertEquals(32, d.messageBatch());
        assertEquals(new ReactorOptions(IdleMode.ADAPTIVE, 65536, 32, true), d.withIdleMode(IdleMode.ADAPTIVE));
        assertEquals(100, d.withMessageQueueCapacity(100).messageQueueCapacity());
        assertEquals(4, d.withMessageBatch(4).messageBatch());
        assertEquals(false, d.withPinThreads(false).pinThreads());
    }

    @Test
    void invalidValuesAreRefused() {
        ReactorOptions d = ReactorOptions.defaults();
        assertThrows(IllegalArgumentException.class, () -> d.withIdleMode(null));
        assertThrows(IllegalArgumentException.class, () -> d.withMessageQueueCapacity(1));
        assertThrows(IllegalArgumentException.class, () -> d.withMessageQueueCapacity(ReactorOptions.MAX_QUEUE_CAPACITY + 1));
        assertThrows(IllegalArgumentException.class, () -> d.withMessageBatch(0));
    }

    @Test
    void queueCapacityIsRoundedUpToAPowerOfTwo() {
        try (ReactorGroup g = Reactors.two(ReactorOptions.defaults().withIdleMode(IdleMode.ADAPTIVE)
                .withMessageQueueCapacity(100))) {
            assertEquals(128, g.reactor(0).queueCapacity());
        }
    }
}
