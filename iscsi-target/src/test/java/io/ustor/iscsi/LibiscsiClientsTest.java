package io.ustor.iscsi;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * libiscsi's tools against the target: discovery, inquiry and capacity, CHAP one-way and mutual (right secret,
 * wrong secret, none), and conformance suites with CRC32C header digests.
 */
class LibiscsiClientsTest {
    static final String MUTUAL_IQN = "iqn.2016-06.io.ustor:mutual";
    private static TestTarget target;

    @BeforeAll
    static void start() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iscsi-inq")), "libiscsi-bin is not installed");
        // Target "disk1" requires CHAP (one-way or mutual); target "mutual" requires mutual CHAP.
        target = new TestTarget(2, 131072, 512, new ChapPolicy(false, true, false, 1), IscsiOptions.defaults(), 0);
        target.target.createTargetNode(MUTUAL_IQN, "", List.of(new PgIgMapping(1, 1)),
                List.of(new LunSpec("Malloc2", 0)), 16, new ChapPolicy(false, true, true, 1), false, false);
    }

    @AfterAll
    static void stop() {
        if (target != null) {
            target.close();
        }
    }

    record Result(int exit, String out) {
    }

    static Result run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }

    private static String url(String creds, String iqn, String query) {
        return "iscsi://" + creds + target.portal() + "/" + iqn + "/0" + query;
    }

    @Test
    void discoveryListsTheTargetsWithTheirPortal() throws Exception {
        Result r = run("iscsi-ls", "iscsi://" + target.portal());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("Target:" + TestTarget.IQN + " Portal:" + target.portal() + ",1"), r.out());
        assertTrue(r.out().contains("Target:" + MUTUAL_IQN), r.out());
    }

    @Test
    void chapRightSecretLogsInWrongOrNoneIsRefused() throws Exception {
        Result ok = run("iscsi-inq", url("user%secretsecret1@", TestTarget.IQN, ""));
        assertEquals(0, ok.exit(), ok.out());
        assertTrue(ok.out().contains("Vendor:USTOR"), ok.out());
        Result wrong = run("iscsi-inq", url("user%wrongsecret99@", TestTarget.IQN, ""));
        assertFalse(wrong.exit() == 0, "wrong secret must be refused: " + wrong.out());
        Result none = run("iscsi-inq", url("", TestTarget.IQN, ""));
        assertFalse(none.exit() == 0, "no CHAP must be refused: " + none.out());
        Result cap = run("iscsi-readcapacity16", url("user%secretsecret1@", TestTarget.IQN, ""));
        assertTrue(cap.out().contains("Total size:67108864"), cap.out());
    }

    @Test
    void mutualChap() throws Exception {
        String mutual = "?target_user=tuser&target_password=tsecretsecret2";
        Result ok = run("iscsi-inq", url("user%secretsecret1@", MUTUAL_IQN, mutual));
        assertEquals(0, ok.exit(), ok.out());
        Result oneWay = run("iscsi-inq", url("user%secretsecret1@", MUTUAL_IQN, ""));
        assertFalse(oneWay.exit() == 0, "one-way CHAP must be refused where mutual is required: " + oneWay.out());
        Result badTarget = run("iscsi-inq", url("user%secretsecret1@", MUTUAL_IQN,
                "?target_user=tuser&target_password=notthetargets1"));
        assertFalse(badTarget.exit() == 0, "the initiator must refuse a target that proves the wrong secret");
        Result optional = run("iscsi-inq", url("user%secretsecret1@", TestTarget.IQN, mutual));
        assertEquals(0, optional.exit(), "mutual CHAP where one-way suffices: " + optional.out());
    }

    @Test
    void conformanceSuitesWithHeaderDigests() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iscsi-test-cu")));
        String u = url("user%secretsecret1@", TestTarget.IQN, "?header_digest=crc32c");
        for (String suite : List.of("ALL.Read10", "ALL.Write10", "ALL.CompareAndWrite", "ALL.iSCSIResiduals")) {
            Result r = run("iscsi-test-cu", "-d", "-t", suite, u);
            ConformanceReport rep = ConformanceReport.parse(r.out());
            assertFalse(rep.results.isEmpty(), suite + ": " + r.out());
            assertEquals(List.of(), rep.named(ConformanceReport.Result.FAILED), suite + ":\n" + r.out());
        }
    }
}
