package io.ustor.reactor;

/** Makes and destroys an {@link IoDevice}'s per-reactor context; both run on the reactor the channel belongs to. */
public interface IoChannelFactory<C> {
    C createChannel(Reactor reactor);

    void destroyChannel(Reactor reactor, C channel);
}
