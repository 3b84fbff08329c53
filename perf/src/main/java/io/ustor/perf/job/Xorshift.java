package io.ustor.perf.job;

/** xorshift64: the generator SPDK's bdevperf uses for random offsets and the rw mix; no allocation, no locks. */
final class Xorshift {
    private long state;

    Xorshift(long seed) {
        state = seed == 0 ? 0x2545F4914F6CDD1DL : seed;
    }

    long next() {
        long x = state;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        state = x;
        return x;
    }

    /** Uniform in [0, bound) without a division (Lemire's multiply-high reduction). */
    long nextBelow(long bound) {
        return Math.unsignedMultiplyHigh(next(), bound);
    }
}
