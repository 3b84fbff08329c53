package io.ustor.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.*;

class RpcParamsTest {
    private static RpcParams params(String json) throws Exception {
        JsonNode n = RawRpcClient.MAPPER.readTree(json);
        return RpcParams.of(n);
    }

    @Test
    void typedAccessors() throws Exception {
        RpcParams p = params("{\"name\":\"Malloc0\",\"num_blocks\":131072,\"block_size\":512.0,\"ro\":true,"
                + "\"uuid\":\"913fc008-79a7-447f-b2c4-c73543638c31\",\"names\":[\"a\",\"b\"],\"n\":null}");
        assertEquals("Malloc0", p.requiredString("name"));
        assertEquals(131072, p.requiredLong("num_blocks"));
        assertEquals(512, p.requiredUint32("block_size"), "integral floats are accepted (Python computes with them)");
        assertTrue(p.optionalBool("ro", false));
        assertEquals(UUID.fromString("913fc008-79a7-447f-b2c4-c73543638c31"), p.optionalUuid("uuid"));
        assertEquals(List.of("a", "b"), p.optionalStringList("names"));
        assertEquals("d", p.optionalString("n", "d"), "null is absent");
        assertEquals(7, p.optionalLong("missing", 7));
        assertFalse(p.has("n"));
    }

    @Test
    void errorsNameTheParameter() throws Exception {
        RpcParams p = params("{\"name\":5,\"size\":-1,\"f\":1.5,\"uuid\":\"zzz\",\"b\":\"yes\"}");
        assertMessageNames("name", () -> p.requiredString("name"));
        assertMessageNames("other", () -> p.requiredString("other"));
        assertMessageNames("size", () -> p.requiredUint32("size"));
        assertMessageNames("f", () -> p.requiredLong("f"));
        assertMessageNames("uuid", () -> p.optionalUuid("uuid"));
        assertMessageNames("b", () -> p.optionalBool("b", false));
        assertMessageNames("f", () -> p.allowOnly(Set.of("name", "size", "uuid", "b")));
    }

    @Test
    void noParamsAndNonObjectParams() throws Exception {
        RpcParams none = RpcParams.of(null);
        assertTrue(none.isEmpty());
        none.requireNone("m");
        assertEquals("x", none.optionalString("a", "x"));
        RpcException e = assertThrows(RpcException.class, () -> none.requiredString("a"));
        assertEquals(RpcException.INVALID_PARAMS, e.code());
        RpcParams arr = params("[1]");
        e = assertThrows(RpcException.class, () -> arr.requiredString("a"));
        assertTrue(e.getMessage().contains("object"));
        assertThrows(RpcException.class, () -> params("{\"a\":1}").requireNone("m"));
    }

    private static void assertMessageNames(String name, org.junit.jupiter.api.function.Executable ex) {
        RpcException e = assertThrows(RpcException.class, ex);
        assertEquals(RpcException.INVALID_PARAMS, e.code());
        assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
    }
}
