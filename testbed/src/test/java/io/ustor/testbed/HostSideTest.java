package io.ustor.testbed;

import io.ustor.testbed.internal.HostLayout;
import io.ustor.testbed.internal.HostTools;
import io.ustor.testbed.internal.RecipeScripts;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host-side pieces that need no guest: project discovery, share paths, the missing-tool message. */
class HostSideTest {
    @Test
    void projectRootIsTheTopOfThePomChain() {
        Path root = HostLayout.projectRoot();
        assertTrue(Files.isRegularFile(root.resolve("testbed/pom.xml")), root.toString());
        assertTrue(Files.isRegularFile(root.resolve("pom.xml")), root.toString());
    }

    @Test
    void sharesMapHostFilesToGuestPaths() {
        Share share = new Share(Path.of("/work/main"), "/ustor", true);
        assertEquals("/ustor/testbed/target/classes", share.guestPathOf(Path.of("/work/main/testbed/target/classes")));
        assertEquals("/ustor", share.guestPathOf(Path.of("/work/main")));
        assertNull(share.guestPathOf(Path.of("/work/mainline/x")));
        assertThrows(IllegalArgumentException.class, () -> new Share(Path.of("/tmp"), "relative", true));
    }

    @Test
    void aMissingHostToolFailsWithWhatToInstall() {
        GuestUnavailableException e = assertThrows(GuestUnavailableException.class,
                () -> HostTools.require("qemu-system-no-such-arch"));
        assertTrue(e.getMessage().contains("apt-get install -y qemu-system-x86"), e.getMessage());
    }

    @Test
    void everyRecipeFileTravelsInTheJar() throws Exception {
        Path scripts = HostLayout.projectRoot().resolve("testbed/scripts");
        List<String> onDisk;
        try (Stream<Path> files = Files.walk(scripts)) {
            onDisk = files.filter(Files::isRegularFile).map(p -> scripts.relativize(p).toString()).sorted().toList();
        }
        assertEquals(onDisk, RecipeScripts.files().stream().sorted().toList());
        Path extracted = RecipeScripts.directory();
        for (String file : onDisk) {
            assertEquals(Files.readString(scripts.resolve(file)), Files.readString(extracted.resolve(file)), file);
        }
    }
}
