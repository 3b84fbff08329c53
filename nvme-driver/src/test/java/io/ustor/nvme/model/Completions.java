package io.ustor.nvme.model;

import io.ustor.nvme.NvmeCompletion;
import io.ustor.nvme.NvmeQpair;

import java.util.ArrayList;
import java.util.List;

/** Records completions in order: the argument (an Integer tag) and the status of each. Test thread only. */
final class Completions implements NvmeCompletion {
    final List<Integer> tags = new ArrayList<>();
    final List<Integer> statuses = new ArrayList<>();

    @Override
    public void onComplete(Object arg, int status, int dw0) {
        tags.add((Integer) arg);
        statuses.add(status);
    }

    int count() {
        return statuses.size();
    }

    /** Polls {@code qp} until {@code n} completions arrived (the model runs on its own thread). */
    void await(NvmeQpair qp, int n) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (count() < n) {
            qp.processCompletions(0);
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + count() + " of " + n + " completions: " + statuses);
            }
            Thread.onSpinWait();
        }
    }

    int statusOf(int tag) {
        int i = tags.indexOf(tag);
        if (i < 0) {
            throw new AssertionError("no completion for " + tag + " (have " + tags + ")");
        }
        return statuses.get(i);
    }
}
