/**
 * vhost-user-blk: {@link io.ustor.vhost.VhostBlkController} serves a bdev to a VM through QEMU's vhost-user protocol
 * (docs/interop/vhost-user.rst) with virtio 1.2 split virtqueues polled on reactors;
 * {@link io.ustor.vhost.VirtioUserBlkBdev} is the other side, a virtio-blk driver over a vhost-user socket exposed as
 * a bdev (SPDK's {@code bdev_virtio_attach_controller -t user -d blk}).
 */
package io.ustor.vhost;
