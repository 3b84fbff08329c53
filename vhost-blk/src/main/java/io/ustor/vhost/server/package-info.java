/**
 * The vhost-user-blk back end: the per-connection protocol state machine ({@link io.ustor.vhost.server.VhostSession}),
 * the guest memory table, and the polled split virtqueue that validates chains and turns them into bdev I/O.
 */
package io.ustor.vhost.server;
