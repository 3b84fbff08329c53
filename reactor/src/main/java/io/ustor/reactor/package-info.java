/**
 * Reactors: one pinned polling thread per core, SPDK style.
 *
 * <ul>
 *   <li>{@link io.ustor.reactor.ReactorGroup} starts one {@link io.ustor.reactor.Reactor} per core of a
 *       {@link io.ustor.reactor.CoreMask} ({@code -m 0x3} or {@code [0-3]}) with {@link io.ustor.reactor.ReactorOptions}
 *       and shuts them down cleanly.</li>
 *   <li>A reactor runs {@link io.ustor.reactor.Poller}s (every iteration, or timed) and messages
 *       ({@link io.ustor.reactor.MessageHandler}, arg, value) that any thread sends through a bounded, preallocated,
 *       allocation-free queue; a full queue refuses the send and counts it.</li>
 *   <li>{@link io.ustor.reactor.IoDevice} / channel: per-reactor context of a device, created lazily, reference
 *       counted, destroyed on its reactor, iterated with {@code forEachChannel}.</li>
 *   <li>{@link io.ustor.reactor.IdleMode}: busy-spin (default) or adaptive back-off down to sleeping on an eventfd.</li>
 *   <li>{@link io.ustor.reactor.ReactorStats} and {@link io.ustor.reactor.PollerStats}: busy/idle time and counts,
 *       readable from any thread (framework_get_reactors, thread_get_stats, thread_get_pollers).</li>
 * </ul>
 *
 * Threading: {@code send}, {@code submit}, {@code call}, stats and {@code PollerHandle.unregister} work from any
 * thread; {@code addPoller}, {@code IoDevice.getChannel} and the callbacks run on a reactor's own thread.
 */
package io.ustor.reactor;
