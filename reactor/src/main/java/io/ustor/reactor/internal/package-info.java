/** Reactor internals: the message queue. Not for use outside the reactor module. */
package io.ustor.reactor.internal;
