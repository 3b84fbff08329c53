/**
 * The aio bdev module: {@link io.ustor.bdev.aio.AioBdev}, a bdev over a file or block device with O_DIRECT, driven
 * by io_uring ({@link io.ustor.env.uring.IoUring}) or Linux AIO ({@link io.ustor.env.aio.LinuxAio}), with
 * completions polled on the reactor that submitted.
 */
package io.ustor.bdev.aio;
