package io.ustor.bdev.delay;

import io.ustor.bdev.BdevException;
import io.ustor.env.Errno;

/**
 * The four latencies of a delay bdev in microseconds, with SPDK's meaning: reads and writes take their average latency,
 * and one in a hundred takes its p99 latency instead. A p99 below the average is refused, as SPDK does.
 */
public record DelayLatencies(long avgReadUs, long p99ReadUs, long avgWriteUs, long p99WriteUs) {
    public DelayLatencies {
        check("avg_read_latency", avgReadUs);
        check("p99_read_latency", p99ReadUs);
        check("avg_write_latency", avgWriteUs);
        check("p99_write_latency", p99WriteUs);
        if (p99ReadUs < avgReadUs || p99WriteUs < avgWriteUs) {
            throw new BdevException(Errno.EINVAL, "delay: a p99 latency must not be below its average latency");
        }
    }

    private static void check(String what, long us) {
        if (us < 0 || us > 3_600_000_000L) {
            throw new BdevException(Errno.EINVAL, "delay: " + what + " must be 0.." + 3_600_000_000L + " us, not " + us);
        }
    }

    /** SPDK's latency_type names of bdev_delay_update_latency. */
    public DelayLatencies with(String latencyType, long us) {
        return switch (latencyType) {
            case "avg_read" -> new DelayLatencies(us, Math.max(us, p99ReadUs), avgWriteUs, p99WriteUs);
            case "p99_read" -> new DelayLatencies(avgReadUs, us, avgWriteUs, p99WriteUs);
            case "avg_write" -> new DelayLatencies(avgReadUs, p99ReadUs, us, Math.max(us, p99WriteUs));
            case "p99_write" -> new DelayLatencies(avgReadUs, p99ReadUs, avgWriteUs, us);
            default -> throw new BdevException(Errno.EINVAL, "delay: latency_type must be avg_read, p99_read, "
                    + "avg_write or p99_write, not " + latencyType);
        };
    }
}
