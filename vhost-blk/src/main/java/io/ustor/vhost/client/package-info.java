/**
 * The vhost-user front end of a virtio-blk driver: shared memory in a memfd, split and packed virtqueues driven from
 * the driver side, feature negotiation and queue setup, and dirty logging as QEMU drives it during a migration. Also
 * the raw ring access the hostile-driver tests use.
 */
package io.ustor.vhost.client;
