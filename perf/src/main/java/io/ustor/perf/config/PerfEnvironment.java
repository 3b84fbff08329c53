package io.ustor.perf.config;

import io.ustor.bdev.BdevRegistry;
import io.ustor.env.DmaMemory;
import io.ustor.reactor.ReactorGroup;

/** What bdevperf runs on: reactors, the bdevs made by the JSON config, DMA memory for task buffers. */
public interface PerfEnvironment extends AutoCloseable {
    ReactorGroup reactors();

    BdevRegistry bdevs();

    DmaMemory dma();

    /** Deletes the bdevs and stops the reactors. */
    @Override
    void close();
}
