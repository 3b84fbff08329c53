package io.ustor.vhost.protocol;

import io.ustor.env.Errno;
import io.ustor.env.NativeException;
import io.ustor.env.Posix;
import io.ustor.env.unix.FdMessenger;
import io.ustor.env.unix.UnixSockets;

import java.io.EOFException;
import java.io.IOException;

/**
 * A blocking vhost-user stream: reads and writes whole messages with their descriptors. Used by one control thread
 * (server session or client); {@link #shutdown} from another thread wakes a blocked read.
 */
public final class VhostUserConnection implements AutoCloseable {
    private final int fd;
    private final FdMessenger messenger;
    private volatile boolean closed;

    public VhostUserConnection(int fd) {
        this.fd = fd;
        UnixSockets.setBlocking(fd, true);
        this.messenger = new FdMessenger(fd);
    }

    public int fd() {
        return fd;
    }

    /**
     * Reads one message into {@code m}: the descriptors it carried are in it (close them with
     * {@link VhostUserMessage#closeFds} unless taken). Throws EOFException at end of stream.
     */
    public void read(VhostUserMessage m) throws IOException {
        m.closeFds();
        int got = 0;
        while (got < VhostUserRequest.HEADER_SIZE) {
            long n = messenger.receive(m.buffer(), got, VhostUserRequest.HEADER_SIZE - got, false);
            collectFds(m);
            if (n == 0) {
                throw new EOFException("vhost-user peer closed the connection");
            }
            if (n < 0) {
                throw new IOException("recvmsg: " + Errno.name((int) -n));
            }
            got += (int) n;
        }
        int size = m.size();
        if (size < 0 || size > VhostUserRequest.MAX_PAYLOAD) {
            throw new VhostProtocolException(VhostUserRequest.name(m.request()) + ": payload size " + Integer.toUnsignedString(size)
                    + " exceeds " + VhostUserRequest.MAX_PAYLOAD);
        }
        int end = VhostUserRequest.HEADER_SIZE + size;
        while (got < end) {
            long n = messenger.receive(m.buffer(), got, end - got, false);
            collectFds(m);
            if (n == 0) {
                throw new EOFException("vhost-user peer closed the connection mid-message");
            }
            if (n < 0) {
                throw new IOException("recvmsg: " + Errno.name((int) -n));
            }
            got += (int) n;
        }
    }

    private void collectFds(VhostUserMessage m) {
        int count = messenger.receivedFdCount();
        for (int i = 0; i < count; i++) {
            int f = messenger.receivedFd(i);
            if (m.fdCount < m.fds.length) {
                m.fds[m.fdCount++] = f;
            } else {
                Posix.closeRaw(f);
            }
        }
        messenger.forgetReceivedFds();
    }

    /** Writes {@code m} with its attached descriptors. */
    public void write(VhostUserMessage m) throws IOException {
        int total = VhostUserRequest.HEADER_SIZE + m.size();
        int sent = 0;
        while (sent < total) {
            long n = messenger.send(m.buffer(), sent, total - sent, m.fds, sent == 0 ? m.fdCount : 0, false);
            if (n < 0) {
                throw new IOException("sendmsg " + VhostUserRequest.name(m.request()) + ": " + Errno.name((int) -n));
            }
            sent += (int) n;
        }
        m.fdCount = 0;
    }

    /** Wakes a reader blocked in {@link #read} (it sees end of stream). Any thread. */
    public void shutdown() {
        UnixSockets.shutdownRaw(fd, UnixSockets.SHUT_RDWR);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                Posix.close(fd);
            } catch (NativeException ignored) {
                // already gone
            }
        }
    }
}
