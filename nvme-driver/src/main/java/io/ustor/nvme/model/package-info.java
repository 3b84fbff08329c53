/**
 * A software NVMe controller for tests and benchmarks, not a device: {@link io.ustor.nvme.model.NvmeControllerModel}
 * implements the controller side of the NVMe base specification (registers, admin and I/O queues, PRPs, the admin
 * command set the driver uses and the NVM command set on a RAM namespace) behind a
 * {@link io.ustor.nvme.model.ModelPciDevice}, so the real driver ({@link io.ustor.nvme.NvmeController},
 * {@link io.ustor.nvme.NvmeQpair}) runs against it unchanged, in-process, without a guest. BAR0 is ordinary memory
 * and DMA addresses are the process's own virtual addresses (IOVA = VA), reached only inside the attached
 * {@link io.ustor.env.DmaMemory}, as an IOMMU would allow. Error injection (fail the next commands, hold commands,
 * surprise removal) drives the driver's failure paths.
 */
package io.ustor.nvme.model;
