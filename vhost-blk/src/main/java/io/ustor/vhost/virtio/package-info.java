/** virtio 1.2 constants (split rings, virtio-blk requests and status) and the virtio-blk config space layout. */
package io.ustor.vhost.virtio;
