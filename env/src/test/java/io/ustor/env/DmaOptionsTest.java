package io.ustor.env;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DmaOptionsTest {
    @Test
    void systemPropertiesOverrideDefaults() {
        String[] keys = {"ustor.dma.memSizeMb", "ustor.dma.hugeDir", "ustor.dma.noHuge", "ustor.dma.iovaMode"};
        try {
            System.setProperty(keys[0], "256");
            System.setProperty(keys[1], "/dev/hugepages");
            System.setProperty(keys[2], "true");
            System.setProperty(keys[3], "pa");
            DmaOptions o = DmaOptions.fromSystemProperties();
            assertEquals(256L << 20, o.memorySize());
            assertEquals(Path.of("/dev/hugepages"), o.hugeDir());
            assertTrue(o.noHuge());
            assertEquals(IovaMode.PA, o.iovaMode());
        } finally {
            for (String k : keys) {
                System.clearProperty(k);
            }
        }
        assertEquals(DmaOptions.defaults(), DmaOptions.fromSystemProperties());
        assertThrows(IllegalArgumentException.class, () -> DmaOptions.defaults().withFilePrefix("a/b"));
        assertThrows(IllegalArgumentException.class, () -> DmaOptions.defaults().withMemorySize(-1));
    }

    @Test
    void processMemoryIsConfiguredOnceAndNeverClosed() {
        DmaMemory global = DmaMemory.get();
        assertSame(global, DmaMemory.get());
        assertSame(global, DmaMemory.configure(global.options()), "same options: the same memory");
        assertThrows(IllegalStateException.class, () -> DmaMemory.configure(global.options().withGrowthChunk(4L << 20)));
        assertThrows(IllegalStateException.class, global::close);
    }
}
