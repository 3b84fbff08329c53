package io.ustor.reactor;

/** Called by {@link IoDevice#forEachChannel} on each reactor that holds a channel, on that reactor's thread. */
@FunctionalInterface
public interface ChannelVisitor<C> {
    void visit(Reactor reactor, C channel);
}
