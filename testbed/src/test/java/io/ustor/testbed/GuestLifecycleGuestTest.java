package io.ustor.testbed;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A guest always ends: it powers off after a one-shot run, and a command past its timeout kills it. */
@Tag("guest")
class GuestLifecycleGuestTest {

    @Test
    void oneShotRunReturnsTheScriptsResultAndLeavesNoQemu() {
        GuestResult result = Guest.builder().name("one-shot").withoutDefaultShares().hugepages(0)
                .run("echo one-shot; exit 5");
        assertEquals(5, result.exitCode());
        assertEquals("one-shot\n", result.output());
        assertEquals(List.of(), qemuProcesses(), "no QEMU may outlive its guest");
    }

    @Test
    void aCommandPastItsTimeoutKillsTheGuest() throws IOException {
        Guest guest = Guest.builder().name("timeout").withoutDefaultShares().start();
        try {
            List<ProcessHandle> qemu = qemuProcesses();
            assertFalse(qemu.isEmpty(), "QEMU runs while the guest is up");
            GuestException e = assertThrows(GuestException.class,
                    () -> guest.exec("echo started; sleep 600", Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("after 5 s") && e.getMessage().contains("started"), e.getMessage());
            assertFalse(guest.isRunning());
            assertFalse(guest.processHandle().isAlive());
            assertEquals(List.of(), qemuProcesses(), "the timed-out guest's QEMU is gone");
            assertThrows(GuestException.class, () -> guest.exec("true"));
        } finally {
            guest.close();
            deleteTree(guest.runDirectory()); // kept for a look after a failure; this one was expected
        }
    }

    private static List<ProcessHandle> qemuProcesses() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.isAlive() && p.info().command().orElse("").contains("qemu-system"))
                .toList();
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
