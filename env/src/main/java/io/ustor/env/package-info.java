/**
 * Everything in ustor that touches the operating system, through the FFM API ({@code java.lang.foreign}).
 *
 * <ul>
 *   <li>System calls with errno: {@link io.ustor.env.Posix} (files), {@link io.ustor.env.Mman} (mappings),
 *       {@link io.ustor.env.MemFd}, {@link io.ustor.env.EventFd}, {@link io.ustor.env.Ioctl},
 *       {@link io.ustor.env.Syscall}, {@link io.ustor.env.Clock}, {@link io.ustor.env.Affinity}. Failures throw
 *       {@link io.ustor.env.NativeException} naming the call, the arguments that matter and the errno text; the
 *       {@code *Raw} forms return {@code -errno} and allocate nothing, for reactor threads.</li>
 *   <li>DMA memory: {@link io.ustor.env.DmaMemory} hands out {@link io.ustor.env.DmaBuffer}s from huge page
 *       {@link io.ustor.env.DmaRegion}s with IOVAs by arithmetic ({@link io.ustor.env.IovaMode}), or from ordinary
 *       memory flagged not DMA-capable when there are no huge pages.</li>
 *   <li>I/O buffers: {@link io.ustor.env.IoBufferPool} (SPDK iobuf: small and large buffers) and one
 *       {@link io.ustor.env.IoBufferCache} per reactor, with {@link io.ustor.env.IoBufferWaiter}s queued when empty.</li>
 * </ul>
 *
 * Threading: classes say which of their methods a reactor may call per I/O (allocation-free, lock-free) and which
 * are control plane (may allocate, lock or block).
 */
package io.ustor.env;
