package io.ustor.daemon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.env.IovaMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ustord's --iova-mode and ustor-rpc's bdev_nvme_* argument forms (rpc.py's), and iscsi_set_options' timers. */
class NvmeCliTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void iovaModeOption() throws UsageException {
        assertEquals(IovaMode.VA, UstordOptions.parse(new String[0]).iovaMode());
        assertEquals(IovaMode.PA, UstordOptions.parse(new String[]{"--iova-mode", "pa"}).iovaMode());
        assertEquals(IovaMode.VA, UstordOptions.parse(new String[]{"--iova-mode=va"}).iovaMode());
        UsageException e = assertThrows(UsageException.class, () -> UstordOptions.parse(new String[]{"--iova-mode", "iommu"}));
        assertTrue(e.getMessage().contains("va or pa"), e.getMessage());
        assertThrows(UsageException.class, () -> UstordOptions.parse(new String[]{"--no-huge", "--iova-mode", "pa"}));
        assertTrue(UstordOptions.USAGE.contains("--iova-mode"));
    }

    private static ObjectNode params(String method, String... argv) throws UsageException {
        CliMethod m = CliMethods.all().get(method);
        return m.params().build(m.args().parse(method, List.of(argv)), MAPPER.createObjectNode());
    }

    @Test
    void attachDetachAndGetControllersTakeRpcPyArguments() throws UsageException {
        assertEquals(MAPPER.createObjectNode().put("name", "Nvme0").put("trtype", "PCIe").put("traddr", "0000:00:04.0"),
                params("bdev_nvme_attach_controller", "-b", "Nvme0", "-t", "PCIe", "-a", "0000:00:04.0"));
        assertEquals(MAPPER.createObjectNode().put("name", "Nvme0").put("trtype", "pcie").put("traddr", "0000:00:04.0"),
                params("bdev_nvme_attach_controller", "--name", "Nvme0", "--trtype", "pcie", "--traddr", "0000:00:04.0"));
        UsageException e = assertThrows(UsageException.class, () -> params("bdev_nvme_attach_controller", "-b", "Nvme0", "-t", "PCIe"));
        assertTrue(e.getMessage().contains("traddr"), e.getMessage());
        assertEquals(MAPPER.createObjectNode().put("name", "Nvme0"), params("bdev_nvme_detach_controller", "Nvme0"));
        assertEquals(MAPPER.createObjectNode(), params("bdev_nvme_get_controllers"));
        assertEquals(MAPPER.createObjectNode().put("name", "Nvme0"), params("bdev_nvme_get_controllers", "-n", "Nvme0"));
        assertEquals(CliMethod.Output.ARRAY, CliMethods.all().get("bdev_nvme_attach_controller").output());
        assertFalse(CliMethods.all().get("bdev_nvme_reset_controller").args().args.isEmpty());
    }

    @Test
    void iscsiTimersIncludingUstorsLoginTimeout() throws UsageException {
        // compared as JSON text: the parser makes long nodes
        assertEquals("{\"nop_timeout\":30,\"nop_in_interval\":10,\"login_timeout\":5}",
                params("iscsi_set_options", "-o", "30", "-n", "10", "--login-timeout", "5").toString());
        assertEquals("{\"login_timeout\":7}", params("iscsi_set_options", "--login-timeout=7").toString());
    }
}
