package io.ustor.env.uring;

/**
 * Receives completions from a {@link FileIoQueue} when it is reaped. Implement it once per owner (a field, not a
 * capturing lambda per call) so reaping allocates nothing.
 */
@FunctionalInterface
public interface CompletionHandler {
    /**
     * One finished operation.
     *
     * @param userData what the operation was prepared with
     * @param result   bytes transferred or 0 on success, {@code -errno} on failure
     * @param flags    engine-specific completion flags (io_uring CQE flags; 0 for Linux AIO)
     */
    void onCompletion(long userData, int result, int flags);
}
