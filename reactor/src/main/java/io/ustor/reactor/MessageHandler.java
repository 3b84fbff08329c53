package io.ustor.reactor;

/**
 * Receives a message on the target reactor's thread. Keep one handler object per purpose (a static final or a
 * field), never a lambda made per message: the message itself is just (handler, arg, value) in a preallocated slot.
 */
@FunctionalInterface
public interface MessageHandler {
    void onMessage(Reactor reactor, Object arg, long value);
}
