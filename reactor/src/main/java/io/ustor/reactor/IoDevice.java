package io.ustor.reactor;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * SPDK's io_device: something (a bdev, an NVMe controller, a target) that keeps a context per reactor, its
 * <em>channel</em>. A reactor gets the channel with {@link #getChannel()}, which creates it on first use; each get is
 * matched by a {@link #putChannel}, and when the count on a reactor reaches zero the channel is destroyed there (in a
 * later message, so a get that follows soon revives it instead). {@link #forEachChannel} visits every reactor holding
 * a channel, one after another, and {@link #unregister} reports when the last channel is gone.
 *
 * <p>Each reactor's channel slot is touched only by that reactor's thread, so get and put take no locks. A device
 * binds to the {@link ReactorGroup} of the first reactor that gets a channel.
 */
public final class IoDevice<C> {
    private static final System.Logger LOG = System.getLogger(IoDevice.class.getName());

    /** One reactor's channel. Touched only by that reactor. */
    private static final class Slot<C> {
        C channel;
        int refs;
        boolean destroyQueued;
    }

    private final String name;
    private final IoChannelFactory<C> factory;
    /** The group this device serves and its per-reactor slots; set together, once, by the first getChannel. */
    private record Binding<C>(ReactorGroup group, Slot<C>[] slots) {
    }

    private volatile Binding<C> binding;
    /** Channels that exist (created, not yet destroyed), over all reactors. */
    private final AtomicInteger liveChannels = new AtomicInteger();
    private volatile boolean unregistered;
    private Reactor unregisterOrigin;
    private Runnable unregisterDone;
    private final AtomicBoolean doneFired = new AtomicBoolean();

    private final MessageHandler destroyIfUnused = (r, arg, v) -> destroyIfUnused(r);
    private final MessageHandler putOnOwner = (r, arg, v) -> putOn(r, castChannel(arg));
    private final MessageHandler runDone = (r, arg, v) -> runCallback((Runnable) arg, r);

    public IoDevice(String name, IoChannelFactory<C> factory) {
        if (name == null || factory == null) {
            throw new IllegalArgumentException("io_device name and factory must not be null");
        }
        this.name = name;
        this.factory = factory;
    }

    public String name() {
        return name;
    }

    /**
     * This reactor's channel, created on first use (the factory runs here, on this thread); adds a reference.
     * Call on a reactor thread. Throws IllegalStateException off a reactor or after {@link #unregister}.
     */
    public C getChannel() {
        Reactor r = requireReactor("getChannel");
        if (unregistered) {
            throw new IllegalStateException("io_device " + name + " is unregistered; no new channels");
        }
        Slot<C> s = slot(r);
        if (s.channel == null) {
            liveChannels.incrementAndGet();
            if (unregistered) { // lost the race with unregister: back out
                channelGone();
                throw new IllegalStateException("io_device " + name + " is unregistered; no new channels");
            }
            C channel;
            try {
                channel = factory.createChannel(r);
            } catch (RuntimeException | Error e) {
                channelGone();
                throw e;
            }
            if (channel == null) {
                channelGone();
                throw new IllegalStateException("io_device " + name + ": createChannel returned null on " + r.name());
            }
            s.channel = channel;
            r.trackDevice(this);
        }
        s.refs++;
        return s.channel;
    }

    /**
     * Drops a reference taken by {@link #getChannel()}; at zero the channel is destroyed on its reactor. Normally
     * called on the channel's reactor; from another thread the release is sent there.
     */
    public void putChannel(C channel) {
        if (channel == null) {
            throw new IllegalArgumentException("io_device " + name + ": putChannel(null)");
        }
        Reactor r = Reactor.current();
        Binding<C> b = binding;
        if (r != null && b != null && r.group() == b.group && b.slots[r.index()].channel == channel) {
            putOn(r, channel);
            return;
        }
        if (b != null) {
            for (int i = 0; i < b.slots.length; i++) {
                if (b.slots[i].channel == channel) { // racy peek; the owner checks again
                    Reactor owner = b.group.reactor(i);
                    if (!owner.post(putOnOwner, channel, 0)) {
                        LOG.log(System.Logger.Level.WARNING, "io_device " + name + ": " + owner.name()
                                + " is shut down; channel put dropped");
                    }
                    return;
                }
            }
        }
        throw new IllegalArgumentException("io_device " + name + ": " + channel + " is not one of its channels");
    }

    /** This reactor's channel without taking a reference, or null (also off a reactor thread). */
    public C channelIfPresent() {
        Reactor r = Reactor.current();
        Binding<C> b = binding;
        if (r == null || b == null || r.group() != b.group) {
            return null;
        }
        Slot<C> s = b.slots[r.index()];
        return s.refs > 0 ? s.channel : null;
    }

    /**
     * Calls {@code visitor} on each reactor that holds a channel, one reactor at a time in index order, each on its
     * own thread; then runs {@code onDone} on the calling reactor (from a non-reactor thread: on the last reactor).
     * Control plane.
     */
    public void forEachChannel(ChannelVisitor<C> visitor, Runnable onDone) {
        if (visitor == null || onDone == null) {
            throw new IllegalArgumentException("io_device " + name + ": forEachChannel needs a visitor and onDone");
        }
        Reactor origin = Reactor.current();
        Binding<C> b = binding;
        if (b == null) { // no channel was ever made
            if (origin == null || !origin.post(runDone, onDone, 0)) {
                runCallback(onDone, origin);
            }
            return;
        }
        new Iteration(b, visitor, onDone, origin).postTo(0);
    }

    /** One forEachChannel walk: a message hops from reactor to reactor. */
    private final class Iteration implements MessageHandler {
        final ReactorGroup group;
        final Slot<C>[] slots;
        final ChannelVisitor<C> visitor;
        final Runnable onDone;
        final Reactor origin;

        Iteration(Binding<C> binding, ChannelVisitor<C> visitor, Runnable onDone, Reactor origin) {
            this.group = binding.group;
            this.slots = binding.slots;
            this.visitor = visitor;
            this.onDone = onDone;
            this.origin = origin;
        }

        /** Sends the walk to the first reactor at or after {@code index} that accepts it, else finishes. */
        void postTo(int index) {
            for (int i = index; i < group.size(); i++) {
                if (group.reactor(i).post(this, null, 0)) {
                    return;
                }
            }
            if (origin == null || !origin.post(runDone, onDone, 0)) {
                runCallback(onDone, Reactor.current());
            }
        }

        @Override
        public void onMessage(Reactor r, Object arg, long value) {
            Slot<C> s = boundSlot(r);
            if (s.refs > 0) {
                try {
                    visitor.visit(r, s.channel);
                } catch (RuntimeException | Error e) {
                    LOG.log(System.Logger.Level.ERROR, "io_device " + name + ": channel visitor threw on " + r.name(), e);
                }
            }
            if (r.index() + 1 < group.size()) {
                postTo(r.index() + 1);
            } else if (origin == null || origin == r) {
                runCallback(onDone, r);
            } else if (!origin.post(runDone, onDone, 0)) {
                runCallback(onDone, r);
            }
        }
    }

    /**
     * Stops handing out channels; {@code onDone} runs once every channel has been put and destroyed (at once if
     * none exists), on the calling reactor, or, when called off a reactor, on the thread that destroys the last
     * channel. Control plane; a second call throws IllegalStateException.
     */
    public void unregister(Runnable onDone) {
        synchronized (this) {
            if (unregistered) {
                throw new IllegalStateException("io_device " + name + " is unregistered already");
            }
            unregisterOrigin = Reactor.current();
            unregisterDone = onDone;
            unregistered = true;
        }
        if (liveChannels.get() == 0) {
            fireUnregisterDone();
        }
    }

    public boolean isUnregistered() {
        return unregistered;
    }

    /** Channels alive now over all reactors; any thread. */
    public int channelCount() {
        return liveChannels.get();
    }

    @Override
    public String toString() {
        return "io_device " + name;
    }

    // ---------------------------------------------------------------------------------------------------------

    private Reactor requireReactor(String what) {
        Reactor r = Reactor.current();
        if (r == null) {
            throw new IllegalStateException("io_device " + name + ": " + what + " must run on a reactor thread, not "
                    + Thread.currentThread().getName());
        }
        return r;
    }

    private Slot<C> slot(Reactor r) {
        Binding<C> b = binding;
        if (b == null) {
            b = bind(r.group());
        }
        if (r.group() != b.group) {
            throw new IllegalStateException("io_device " + name + " belongs to " + b.group + ", not " + r.group());
        }
        return b.slots[r.index()];
    }

    /** The slot of a reactor that is known to have used this device. */
    private Slot<C> boundSlot(Reactor r) {
        return binding.slots[r.index()];
    }

    @SuppressWarnings("unchecked")
    private synchronized Binding<C> bind(ReactorGroup g) {
        if (binding == null) {
            Slot<C>[] all = (Slot<C>[]) new Slot<?>[g.size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = new Slot<>();
            }
            binding = new Binding<>(g, all);
        }
        return binding;
    }

    @SuppressWarnings("unchecked")
    private C castChannel(Object o) {
        return (C) o;
    }

    private void putOn(Reactor r, C channel) {
        Slot<C> s = boundSlot(r);
        if (s.channel != channel || s.refs <= 0) {
            throw new IllegalStateException("io_device " + name + ": put of a channel not held on " + r.name());
        }
        if (--s.refs == 0 && !s.destroyQueued) {
            s.destroyQueued = true;
            if (!r.post(destroyIfUnused, null, 0)) {
                destroyIfUnused(r); // shutting down: no later loop to run it
            }
        }
    }

    private void destroyIfUnused(Reactor r) {
        Slot<C> s = boundSlot(r);
        s.destroyQueued = false;
        if (s.refs > 0 || s.channel == null) {
            return; // taken again meanwhile
        }
        destroy(r, s);
    }

    private void destroy(Reactor r, Slot<C> s) {
        C channel = s.channel;
        s.channel = null;
        s.refs = 0;
        r.untrackDevice(this);
        try {
            factory.destroyChannel(r, channel);
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "io_device " + name + ": destroyChannel threw on " + r.name(), e);
        } finally {
            channelGone();
        }
    }

    /** Reactor shutdown: destroys this reactor's channel even though references remain. */
    void releaseAtShutdown(Reactor r) {
        Slot<C> s = boundSlot(r);
        if (s.channel == null) {
            r.untrackDevice(this);
            return;
        }
        if (s.refs > 0) {
            LOG.log(System.Logger.Level.WARNING, "io_device " + name + ": channel on " + r.name() + " still held ("
                    + s.refs + " references) at shutdown; destroying it");
        }
        destroy(r, s);
    }

    private void channelGone() {
        if (liveChannels.decrementAndGet() == 0 && unregistered) {
            fireUnregisterDone();
        }
    }

    private void fireUnregisterDone() {
        if (!doneFired.compareAndSet(false, true)) {
            return;
        }
        Runnable done;
        Reactor origin;
        synchronized (this) {
            done = unregisterDone;
            origin = unregisterOrigin;
        }
        if (done == null) {
            return;
        }
        if (origin == null || !origin.post(runDone, done, 0)) {
            runCallback(done, Reactor.current());
        }
    }

    private void runCallback(Runnable callback, Reactor where) {
        try {
            callback.run();
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "io_device " + name + ": callback threw"
                    + (where != null ? " on " + where.name() : ""), e);
        }
    }
}
