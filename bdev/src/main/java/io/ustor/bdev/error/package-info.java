/** SPDK's error injection bdev: a pass-through over a base bdev that fails, holds, corrupts or delays chosen I/O. */
package io.ustor.bdev.error;
