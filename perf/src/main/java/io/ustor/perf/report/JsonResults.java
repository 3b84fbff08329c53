package io.ustor.perf.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.perf.JobResult;

import java.util.List;

/**
 * Results as JSON, in the shape of SPDK bdevperf's perform_tests answer ({"results": [...], "core_count": n}, field
 * names as SPDK writes them) with p50/p99/p99.9 per job and a "total" object added.
 */
public final class JsonResults {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonResults() {
    }

    public static ObjectNode toJson(List<JobResult> results, RunTotals totals) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("results");
        for (JobResult r : results) {
            ObjectNode j = arr.addObject();
            j.put("job", r.job());
            j.put("core_mask", r.coreMask());
            j.put("workload", r.workload().spdkName());
            if (r.workload().mixed()) {
                j.put("percentage", r.readPercentage());
            }
            j.put("status", r.status());
            if (r.verifyStart() >= 0) {
                ObjectNode v = j.putObject("verify_range");
                v.put("start", r.verifyStart());
                v.put("length", r.verifyLength());
            }
            j.put("queue_depth", r.queueDepth());
            j.put("io_size", r.ioSize());
            j.put("runtime", r.runtimeSeconds());
            j.put("iops", r.iops());
            j.put("mibps", r.mibps());
            j.put("io_completed", r.ioCompleted());
            j.put("io_failed", r.ioFailed());
            j.put("io_timeout", 0);
            j.put("avg_latency_us", r.avgLatencyUs());
            j.put("min_latency_us", r.minLatencyUs());
            j.put("max_latency_us", r.maxLatencyUs());
            j.put("p50_latency_us", r.p50LatencyUs());
            j.put("p99_latency_us", r.p99LatencyUs());
            j.put("p999_latency_us", r.p999LatencyUs());
            j.put("cpu_seconds", r.cpuSeconds());
        }
        root.put("core_count", totals.coreCount());
        ObjectNode t = root.putObject("total");
        t.put("iops", totals.iops());
        t.put("mibps", totals.mibps());
        t.put("io_completed", totals.ioCompleted());
        t.put("io_failed", totals.ioFailed());
        t.put("avg_latency_us", totals.avgLatencyUs());
        t.put("min_latency_us", totals.minLatencyUs());
        t.put("max_latency_us", totals.maxLatencyUs());
        t.put("p50_latency_us", totals.p50LatencyUs());
        t.put("p99_latency_us", totals.p99LatencyUs());
        t.put("p999_latency_us", totals.p999LatencyUs());
        t.put("cpu_seconds", totals.cpuSeconds());
        t.put("ios_per_cpu_second", totals.iosPerCpuSecond());
        return root;
    }

    public static String toString(List<JobResult> results, RunTotals totals) {
        try {
            return MAPPER.writeValueAsString(toJson(results, totals));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write bdevperf results as JSON", e);
        }
    }
}
