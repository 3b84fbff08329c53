/**
 * The vhost-user-blk back end: the per-connection protocol state machine ({@link io.ustor.vhost.server.VhostSession}),
 * the guest memory table, the polled virtqueues (split and packed ring layouts over one virtio-blk request handler)
 * that validate chains and turn them into bdev I/O, the inflight buffers that survive a back-end restart, and the
 * dirty log for live migration.
 */
package io.ustor.vhost.server;
