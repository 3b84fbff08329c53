/**
 * Linux native AIO ({@link io.ustor.env.aio.LinuxAio}): the {@link io.ustor.env.uring.FileIoQueue} used where
 * io_uring is unavailable or disabled.
 */
package io.ustor.env.aio;
