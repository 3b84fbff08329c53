/** Command-line tools straight on the driver: {@link io.ustor.nvme.tools.NvmeIdentify} and {@link io.ustor.nvme.tools.NvmePerf}. */
package io.ustor.nvme.tools;
