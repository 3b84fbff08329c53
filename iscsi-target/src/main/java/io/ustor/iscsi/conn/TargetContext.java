package io.ustor.iscsi.conn;

import io.ustor.env.IoBufferPool;
import io.ustor.env.net.SocketBuffers;
import io.ustor.iscsi.AuthGroup;
import io.ustor.iscsi.InitiatorGroup;
import io.ustor.iscsi.IscsiOptions;
import io.ustor.iscsi.PortalGroup;
import io.ustor.iscsi.TargetNode;

import java.util.List;
import java.util.function.Consumer;

/** What a connection needs from the target that accepted it (implemented by {@link io.ustor.iscsi.IscsiTarget}). */
public interface TargetContext {
    IscsiOptions options();

    /** The pool task data buffers come from, or null (each task uses memory of its own). */
    IoBufferPool bufferPool();

    /** Socket buffer sizes for accepted connections (none set: the kernel's). */
    SocketBuffers socketBuffers();

    TargetNode findTarget(String name);

    List<TargetNode> targets();

    PortalGroup portalGroup(int tag);

    InitiatorGroup initiatorGroup(int tag);

    AuthGroup authGroup(int tag);

    /** A new session identifying handle, never 0. */
    int allocateTsih();

    /**
     * Registers a session under {@code key} (initiator name, ISID and target); returns the connection of an older
     * session with the same key, which the caller reinstates (closes), or null.
     */
    IscsiConnection registerSession(String key, IscsiConnection conn);

    void unregisterSession(String key, IscsiConnection conn);

    int sessionCount();

    void connectionOpened(IscsiConnection c);

    void connectionClosed(IscsiConnection c);

    /**
     * Runs {@code visitor} on every open connection, each on its own reactor, then {@code onDone} on the calling
     * reactor. Control plane and rare task management: allocates.
     */
    void forEachConnection(Consumer<IscsiConnection> visitor, Runnable onDone);
}
