package io.ustor.reactor;

/** What a reactor does when a loop iteration finds no work. */
public enum IdleMode {
    /** Spin ({@link Thread#onSpinWait()}): lowest latency, burns the core. The default, as in SPDK. */
    BUSY_SPIN,
    /**
     * Back off: spin a little, then yield, then sleep on the reactor's eventfd with growing timeouts, until a message
     * arrives (senders signal the eventfd only while the reactor sleeps), an interrupt poller's descriptor becomes
     * readable ({@link Reactor#addInterruptPoller}) or a timed poller falls due. Plain pollers still run at least
     * every {@link ReactorOptions#MAX_ADAPTIVE_SLEEP_NANOS} while any are registered. An idle reactor uses close to
     * no CPU; the first message after a sleep pays a wakeup.
     */
    ADAPTIVE
}
