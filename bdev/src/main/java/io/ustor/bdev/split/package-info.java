/** SPDK's split bdev: a base bdev cut into equal parts, each a bdev of its own. */
package io.ustor.bdev.split;
