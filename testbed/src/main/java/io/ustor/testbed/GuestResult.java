package io.ustor.testbed;

import java.time.Duration;

/**
 * What a command run in the guest left behind: its exit status and its output (stdout and stderr interleaved,
 * as the guest wrote them).
 */
public record GuestResult(String command, int exitCode, String output, Duration elapsed) {

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** The output, if the command exited 0; otherwise an AssertionError (a test failure) that shows the output. */
    public String requireSuccess() {
        if (exitCode != 0) {
            throw new AssertionError("guest command exited " + exitCode + "\n--- command:\n" + command
                    + "\n--- output:\n" + output);
        }
        return output;
    }

    @Override
    public String toString() {
        return "GuestResult[exit " + exitCode + ", " + elapsed.toMillis() + " ms]\n" + output;
    }
}
