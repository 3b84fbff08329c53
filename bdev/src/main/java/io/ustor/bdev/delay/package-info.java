/**
 * SPDK's delay bdev: a passthrough that holds each completion of its base bdev until a configured latency has passed
 * since submission, for testing how front ends and initiators behave with slow devices and I/O in flight.
 */
package io.ustor.bdev.delay;
