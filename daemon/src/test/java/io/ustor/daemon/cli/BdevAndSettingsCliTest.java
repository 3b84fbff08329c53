package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.RuntimeOptions;
import io.ustor.daemon.UstorRuntime;
import io.ustor.reactor.IdleMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ustor-rpc's forms of the split and settings methods (rpc.py's), and what they build is what the methods take. */
class BdevAndSettingsCliTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static ObjectNode params(String method, String... argv) throws UsageException {
        CliMethod m = CliMethods.all().get(method);
        return m.params().build(m.args().parse(method, List.of(argv)), MAPPER.createObjectNode());
    }

    @Test
    void switchesTakeBothForms() throws UsageException {
        assertEquals("{\"impl_name\":\"posix\",\"recv_buf_size\":65536,\"enable_recv_pipe\":false,"
                        + "\"enable_quickack\":true}",
                params("sock_impl_set_options", "-i", "posix", "-r", "65536", "--no-recv-pipe", "--quickack")
                        .toString());
        assertEquals("{\"enable\":false,\"period_us\":5}",
                params("bdev_nvme_set_hotplug", "--no-hotplug", "-r", "5").toString());
        UsageException e = assertThrows(UsageException.class, () -> params("bdev_nvme_set_hotplug", "-r", "5"));
        assertTrue(e.getMessage().contains("hotplug"), e.getMessage());
        e = assertThrows(UsageException.class, () -> params("sock_impl_set_options", "-i", "posix", "--quickack=1"));
        assertTrue(e.getMessage().contains("takes no value"), e.getMessage());
        assertEquals("--hotplug | --no-hotplug", CliMethods.all().get("bdev_nvme_set_hotplug").args().args.get(0)
                .display());
    }

    @Test
    void splitAndLogFormsTakeRpcPyArguments() throws UsageException {
        assertEquals("{\"base_bdev\":\"Malloc0\",\"split_size_mb\":16,\"split_count\":4}",
                params("bdev_split_create", "Malloc0", "-s", "16", "4").toString());
        assertEquals("{\"base_bdev\":\"Malloc0\"}", params("bdev_split_delete", "Malloc0").toString());
        assertEquals("{\"flag\":\"iscsi\"}", params("log_set_flag", "iscsi").toString());
        assertEquals("{\"level\":\"DEBUG\"}", params("log_set_print_level", "DEBUG").toString());
    }

    @Test
    void whatTheFormsBuildTheMethodsTake() throws Exception {
        try (UstorRuntime rt = UstorRuntime.start(RuntimeOptions.defaults().withNoHuge(true)
                .withIdleMode(IdleMode.ADAPTIVE).withWaitForRpc(true))) {
            rt.rpc().callAndWait("iobuf_set_options", params("iobuf_set_options", "--small-pool-count", "1024",
                    "--large-pool-count", "64", "--large-bufsize", "65536"));
            rt.rpc().callAndWait("bdev_set_options", params("bdev_set_options", "-p", "1024", "-c", "16",
                    "--auto-examine", "--iobuf-small-cache-size", "32", "--iobuf-large-cache-size", "4"));
            rt.rpc().callAndWait("accel_set_options", params("accel_set_options", "--task-count", "512"));
            rt.rpc().callAndWait("sock_set_default_impl", params("sock_set_default_impl", "-i", "posix"));
            rt.rpc().callAndWait("sock_impl_set_options", params("sock_impl_set_options", "-i", "posix",
                    "--no-zerocopy-send-server", "--zerocopy-threshold", "4096"));
            assertEquals(4096, rt.rpc().callAndWait("sock_impl_get_options",
                    params("sock_impl_get_options", "-i", "posix")).path("zerocopy_threshold").asInt());
            rt.rpc().callAndWait("framework_start_init", null);
            rt.rpc().callAndWait("bdev_nvme_set_hotplug", params("bdev_nvme_set_hotplug", "--no-hotplug"));
            assertEquals(1024, rt.buffers().options().smallPoolCount());
            assertEquals(65536, rt.buffers().options().largeBufferSize());
            assertEquals(32, rt.buffers().options().smallCacheSize());
        }
    }
}
