/**
 * The nvme bdev module: one bdev per active namespace of an attached controller (named {@code NAMEn1}, ...), each
 * reactor using its own I/O queue pair of the controller as the module channel.
 */
package io.ustor.nvme.bdev;
