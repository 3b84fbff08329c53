/**
 * io_uring through raw system calls ({@link io.ustor.env.uring.IoUring}) and the queue interface it shares with the
 * Linux AIO fallback ({@link io.ustor.env.uring.FileIoQueue}, {@link io.ustor.env.uring.CompletionHandler}).
 * Everything here is owned by one thread (a reactor) and allocates nothing per operation.
 */
package io.ustor.env.uring;
