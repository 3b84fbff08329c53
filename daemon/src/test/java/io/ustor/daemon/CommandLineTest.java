package io.ustor.daemon;

import io.ustor.daemon.cli.PythonJson;
import io.ustor.daemon.cli.UsageException;
import io.ustor.daemon.cli.UstordOptions;
import io.ustor.reactor.IdleMode;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CommandLineTest {
    @Test
    void ustordParsesSpdkOptions() throws Exception {
        UstordOptions o = UstordOptions.parse(new String[]{"-m", "0x3", "-r", "/tmp/x.sock", "--wait-for-rpc",
                "-s", "2G", "--no-huge", "-L", "rpc", "--logflag=bdev", "--idle-mode", "adaptive"});
        assertEquals(2, o.coreMask().count());
        assertEquals(Path.of("/tmp/x.sock"), o.rpcSocket());
        assertTrue(o.waitForRpc());
        assertEquals(2048, o.memSizeMb());
        assertTrue(o.noHuge());
        assertEquals(List.of("rpc", "bdev"), o.logFlags());
        assertEquals(IdleMode.ADAPTIVE, o.idleMode());
        UstordOptions d = UstordOptions.parse(new String[0]);
        assertEquals(Path.of("/var/tmp/ustor.sock"), d.rpcSocket());
        assertEquals("0x1", d.coreMask().toString());
        assertEquals(512, UstordOptions.parse(new String[]{"--mem-size", "512"}).memSizeMb());
        assertEquals(3, UstordOptions.parse(new String[]{"-m[0-2]"}).coreMask().count());
    }

    @Test
    void ustordRejectsWhatItDoesNotKnow() {
        String[][] bad = {{"--nope"}, {"-q"}, {"-s", "-5"}, {"--no-huge=1"}, {"--huge-dir", "/nonexistent-dir"},
                {"--no-huge", "--huge-dir", "/tmp"}, {"-r"}, {"--idle-mode", "sleepy"}};
        for (String[] args : bad) {
            assertThrows(UsageException.class, () -> UstordOptions.parse(args), String.join(" ", args));
        }
    }

    @Test
    void ustordTakesSpdksVhostSocketDirectory() throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
        assertEquals(tmp, UstordOptions.parse(new String[]{"-S", tmp.toString()}).vhostSockDir());
        assertEquals(tmp, UstordOptions.parse(new String[]{"--vhost-sock-dir=" + tmp}).vhostSockDir());
        assertNull(UstordOptions.parse(new String[0]).vhostSockDir(), "default: the vhost module's (working directory)");
        assertThrows(UsageException.class, () -> UstordOptions.parse(new String[]{"-S", "/nonexistent-dir"}));
        assertThrows(UsageException.class, () -> UstordOptions.parse(new String[]{"-S"}));
    }

    @Test
    void printsJsonLikePythonsJsonDumps() throws Exception {
        var n = RawJsonClient.MAPPER.readTree(
                "{\"a\":1,\"b\":[],\"c\":{},\"d\":[1,{\"e\":\"x\\\"y\"}],\"f\":true,\"g\":null,\"h\":\"caf\u00e9\",\"i\":1.5}");
        assertEquals("""
                {
                  "a": 1,
                  "b": [],
                  "c": {},
                  "d": [
                    1,
                    {
                      "e": "x\\"y"
                    }
                  ],
                  "f": true,
                  "g": null,
                  "h": "caf\\u00e9",
                  "i": 1.5
                }""", PythonJson.dumps(n, 2));
    }

    @Test
    void versionIsSplitTheWaySpdkReportsIt() {
        UstorVersion v = UstorVersion.parse("0.1.0-SNAPSHOT");
        assertEquals(0, v.major());
        assertEquals(1, v.minor());
        assertEquals(0, v.patch());
        assertEquals("-SNAPSHOT", v.suffix());
        assertEquals("ustor v0.1.0-SNAPSHOT", v.banner());
        assertNotEquals("0.0.0-unknown", UstorVersion.current().version(), "the build filled in the version");
    }
}
