package io.ustor.nvme;

/** What the programs run inside the test guest share: failing a check ends the program with its reason. */
final class GuestProgram {
    private GuestProgram() {
    }

    /** Unless {@code ok}: prints "FAILED: what" (the guest test shows the program's output) and exits with 1. */
    static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED: " + what);
            System.out.flush();
            System.exit(1);
        }
    }
}
