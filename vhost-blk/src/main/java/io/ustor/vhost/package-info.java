/**
 * vhost-user-blk: {@link io.ustor.vhost.VhostBlkController} serves a bdev to a VM through QEMU's vhost-user protocol
 * (docs/interop/vhost-user.rst) with virtio 1.2 virtqueues polled on reactors: split rings, and packed rings when the
 * controller is created with SPDK's {@code packed_ring} (VIRTIO_F_RING_PACKED offered; the driver chooses).
 * {@link io.ustor.vhost.VirtioUserBlkBdev} is the other side, a virtio-blk driver over a vhost-user socket exposed as
 * a bdev (SPDK's {@code bdev_virtio_attach_controller -t user -d blk}), on either ring layout. Both sides keep
 * vhost-user's inflight buffer (PROTOCOL_F_INFLIGHT_SHMFD, split and packed layouts): a front end that reconnects to
 * a restarted server (QEMU with {@code reconnect=N}, or the client's own reconnect) hands it over, and the server
 * resubmits the requests its predecessor had taken from the rings but not completed. The server logs its
 * guest-memory writes in the front end's dirty log while a live migration runs (VHOST_F_LOG_ALL, LOG_SHMFD).
 */
package io.ustor.vhost;
