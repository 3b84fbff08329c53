package io.ustor.iscsi;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses iscsi-test-cu (CUnit) output: which tests passed, failed or skipped. CUnit counts a skipped test as
 * passed; a test is "skipped" here when its output has a [SKIPPED] line.
 */
final class ConformanceReport {
    enum Result { PASSED, FAILED, SKIPPED }

    private static final Pattern TEST = Pattern.compile("^\\s+Test: (\\S+) \\.\\.\\.(.*)$");
    private static final Pattern SUITE = Pattern.compile("^Suite: (\\S+)");

    final Map<String, Result> results = new LinkedHashMap<>();
    final Map<String, String> skipReasons = new LinkedHashMap<>();

    static ConformanceReport parse(String output) {
        ConformanceReport r = new ConformanceReport();
        String suite = "?";
        String test = null;
        boolean failed = false;
        String skipped = null;
        for (String line : output.split("\n")) {
            Matcher sm = SUITE.matcher(line);
            if (sm.find()) {
                r.finish(suite, test, failed, skipped);
                test = null;
                suite = sm.group(1);
                continue;
            }
            Matcher tm = TEST.matcher(line);
            if (tm.find()) {
                r.finish(suite, test, failed, skipped);
                test = tm.group(1);
                failed = false;
                skipped = null;
                line = tm.group(2);
            }
            if (test == null) {
                continue;
            }
            String trimmed = line.trim();
            if (trimmed.equals("FAILED") || (trimmed.endsWith("FAILED") && !trimmed.contains("[FAILED]"))) {
                failed = true;
            }
            int s = line.indexOf("[SKIPPED]");
            if (s >= 0 && skipped == null) {
                skipped = line.substring(s + 9).trim();
            }
            if (line.startsWith("Run Summary")) {
                r.finish(suite, test, failed, skipped);
                test = null;
            }
        }
        r.finish(suite, test, failed, skipped);
        return r;
    }

    private void finish(String suite, String test, boolean failed, String skipped) {
        if (test == null) {
            return;
        }
        String name = suite + "." + test;
        if (failed) {
            results.put(name, Result.FAILED);
        } else if (skipped != null) {
            results.put(name, Result.SKIPPED);
            skipReasons.put(name, skipped);
        } else {
            results.put(name, Result.PASSED);
        }
    }

    List<String> named(Result which) {
        List<String> out = new ArrayList<>();
        results.forEach((k, v) -> {
            if (v == which) {
                out.add(k);
            }
        });
        return out;
    }

    int count(Result which) {
        return named(which).size();
    }
}
