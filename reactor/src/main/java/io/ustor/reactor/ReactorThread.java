package io.ustor.reactor;

/** The thread of one reactor; carries it so {@link Reactor#current()} is a type check and a field load. */
final class ReactorThread extends Thread {
    final Reactor reactor;

    ReactorThread(Reactor reactor, Runnable body) {
        super(null, body, reactor.name(), 0, false);
        this.reactor = reactor;
        setDaemon(true);
    }
}
