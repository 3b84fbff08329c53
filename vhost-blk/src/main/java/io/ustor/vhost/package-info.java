/**
 * vhost-user-blk: {@link io.ustor.vhost.VhostBlkController} serves a bdev to a VM through QEMU's vhost-user protocol
 * (docs/interop/vhost-user.rst) with virtio 1.2 split virtqueues polled on reactors;
 * {@link io.ustor.vhost.VirtioUserBlkBdev} is the other side, a virtio-blk driver over a vhost-user socket exposed as
 * a bdev (SPDK's {@code bdev_virtio_attach_controller -t user -d blk}). Both sides keep vhost-user's inflight
 * buffer (PROTOCOL_F_INFLIGHT_SHMFD): a front end that reconnects to a restarted server (QEMU with
 * {@code reconnect=N}, or the client's own reconnect) hands it over, and the server resubmits the requests its
 * predecessor had taken from the rings but not completed.
 */
package io.ustor.vhost;
