package io.ustor.nvme.model;

import io.ustor.env.DmaMemory;
import io.ustor.env.DmaOptions;
import io.ustor.env.HugePages;
import io.ustor.nvme.NvmeController;
import io.ustor.nvme.NvmeControllerOptions;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The real driver attached to a model running on its own thread. Closing detaches (and closes the model). */
final class ModelFixture implements AutoCloseable {
    final NvmeControllerModel model;
    final NvmeController ctrlr;

    ModelFixture(DmaMemory dma, NvmeModelOptions modelOptions, NvmeControllerOptions options) {
        model = NvmeControllerModel.create("Model0", "0000:ff:00.0", modelOptions);
        model.start();
        try {
            ctrlr = NvmeController.attach("Model0", model.device(), dma, options);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * DMA memory the driver accepts: huge pages (the driver refuses ordinary memory for queues and PRP lists even
     * though the model could reach it). Skips the test when the machine has none free.
     */
    static DmaMemory hugeDma() {
        assumeTrue(HugePages.status2M().available() >= 16, "driver tests over the model need 2 MiB huge pages ("
                + HugePages.status2M() + "); echo 512 > /proc/sys/vm/nr_hugepages to run them");
        DmaMemory dma = DmaMemory.open(DmaOptions.defaults().withGrowthChunk(8L << 20));
        if (!dma.dmaCapable()) {
            String why = dma.notDmaCapableReason();
            dma.close();
            assumeTrue(false, "no DMA-capable memory: " + why);
        }
        return dma;
    }

    @Override
    public void close() {
        ctrlr.close();
        model.close();
    }
}
