package io.ustor.env.net;

/**
 * The socket buffer sizes to give accepted TCP connections (SPDK's {@code sock_impl_set_options} recv_buf_size and
 * send_buf_size). Zero leaves the kernel's size, which it autotunes; a size set here is fixed for the socket
 * (SO_RCVBUF/SO_SNDBUF turn the autotuning off, and the kernel doubles the value for its bookkeeping). Set from the
 * RPC thread, read by reactors as they accept.
 */
public final class SocketBuffers {
    private volatile long sizes; // recv in the high 32 bits, send in the low

    /** Both sizes; 0 for the kernel's. */
    public void set(int recvBytes, int sendBytes) {
        if (recvBytes < 0 || sendBytes < 0) {
            throw new IllegalArgumentException("buffer sizes must be >= 0: " + recvBytes + ", " + sendBytes);
        }
        sizes = (long) recvBytes << 32 | sendBytes;
    }

    public int recvBytes() {
        return (int) (sizes >>> 32);
    }

    public int sendBytes() {
        return (int) sizes;
    }

    /** Applies the sizes set to {@code fd}; throws NativeException if the kernel refuses. */
    public void applyTo(int fd) {
        long s = sizes;
        int recv = (int) (s >>> 32), send = (int) s;
        if (recv > 0) {
            TcpSockets.setIntOption(fd, TcpSockets.SOL_SOCKET, TcpSockets.SO_RCVBUF, recv);
        }
        if (send > 0) {
            TcpSockets.setIntOption(fd, TcpSockets.SOL_SOCKET, TcpSockets.SO_SNDBUF, send);
        }
    }
}
