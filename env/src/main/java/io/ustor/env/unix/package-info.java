/**
 * AF_UNIX stream sockets through FFM, for vhost-user and other local control protocols:
 * {@link io.ustor.env.unix.UnixSockets} (socket, bind, listen, accept4, connect, shutdown),
 * {@link io.ustor.env.unix.FdMessenger} (sendmsg/recvmsg carrying file descriptors with SCM_RIGHTS) and
 * {@link io.ustor.env.unix.PollSet} (poll(2) over a few descriptors for a control thread).
 */
package io.ustor.env.unix;
