/**
 * TCP networking through FFM for the network front ends (iSCSI, NVMe/TCP): {@link io.ustor.env.net.TcpSockets}
 * (listen, accept4, recv/send, vectored I/O with {@link io.ustor.env.net.IoVecArray}, options, addresses) and
 * {@link io.ustor.env.net.Epoll}. The {@code Raw} calls return {@code -errno}, allocate nothing and never block on
 * non-blocking descriptors: a reactor polls them.
 */
package io.ustor.env.net;
