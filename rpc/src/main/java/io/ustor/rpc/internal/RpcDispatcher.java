package io.ustor.rpc.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcRegistry;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns one top-level request value (an object or a batch array) into the bytes of its response, per JSON-RPC 2.0
 * as SPDK implements it: responses are {"jsonrpc":"2.0","id":..,"result"|"error":..} followed by a newline; a
 * notification (no "id") gets no response; a batch gets an array of the responses, or nothing if all were
 * notifications; an empty batch or a request that is not an object is "Invalid request" with id null.
 */
public final class RpcDispatcher {
    private final RpcRegistry registry;
    private final ObjectMapper mapper;

    public RpcDispatcher(RpcRegistry registry) {
        this.registry = registry;
        this.mapper = registry.mapper();
    }

    public ObjectMapper mapper() {
        return mapper;
    }

    /** The response bytes, or null when nothing is to be sent. */
    public CompletableFuture<byte[]> dispatch(JsonNode request) {
        if (request.isArray()) {
            return dispatchBatch((ArrayNode) request);
        }
        return dispatchOne(request).thenApply(r -> r == null ? null : encode(r));
    }

    private CompletableFuture<byte[]> dispatchBatch(ArrayNode batch) {
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(encode(error(NullNode.getInstance(),
                    RpcException.INVALID_REQUEST, "Invalid request")));
        }
        List<CompletableFuture<ObjectNode>> parts = new ArrayList<>(batch.size());
        for (JsonNode element : batch) {
            parts.add(dispatchOne(element));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            ArrayNode out = mapper.createArrayNode();
            for (CompletableFuture<ObjectNode> p : parts) {
                ObjectNode r = p.join();
                if (r != null) {
                    out.add(r);
                }
            }
            return out.isEmpty() ? null : encode(out);
        });
    }

    /** The response object, or null for a notification. Never completes exceptionally. */
    private CompletableFuture<ObjectNode> dispatchOne(JsonNode request) {
        JsonNode id = NullNode.getInstance();
        String invalid = null;
        if (!request.isObject()) {
            invalid = "not an object";
        } else {
            JsonNode version = request.get("jsonrpc");
            JsonNode method = request.get("method");
            JsonNode params = request.get("params");
            JsonNode reqId = request.get("id");
            if (reqId != null && !(reqId.isTextual() || reqId.isNumber() || reqId.isNull())) {
                invalid = "id must be a string, a number or null";
            } else if (version != null && !(version.isTextual() && version.textValue().equals("2.0"))) {
                invalid = "jsonrpc must be \"2.0\"";
            } else if (method == null || !method.isTextual()) {
                invalid = "method must be a string";
            } else if (params != null && !(params.isNull() || params.isObject() || params.isArray())) {
                invalid = "params must be an object or an array";
            }
            if (reqId != null) {
                id = reqId;
            }
            if (invalid == null) {
                boolean notification = reqId == null;
                JsonNode finalId = id;
                return registry.call(method.textValue(), params).handle((result, t) -> {
                    if (notification) {
                        return null;
                    }
                    if (t != null) {
                        RpcException e = unwrap(t);
                        return error(finalId, e.code(), e.getMessage());
                    }
                    ObjectNode r = envelope(finalId);
                    r.set("result", result);
                    return r;
                });
            }
        }
        return CompletableFuture.completedFuture(error(id, RpcException.INVALID_REQUEST, "Invalid request"));
    }

    private static RpcException unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof RpcException r ? r
                : new RpcException(RpcException.INTERNAL_ERROR, "Internal error: " + t);
    }

    private ObjectNode envelope(JsonNode id) {
        ObjectNode r = mapper.createObjectNode();
        r.put("jsonrpc", "2.0");
        r.set("id", id);
        return r;
    }

    /** An error response object. */
    public ObjectNode error(JsonNode id, int code, String message) {
        ObjectNode r = envelope(id);
        ObjectNode e = r.putObject("error");
        e.put("code", code);
        e.put("message", message == null ? "Error" : message);
        return r;
    }

    /** The wire form of a response: compact JSON and a newline, as SPDK writes it. */
    public byte[] encode(JsonNode response) {
        try {
            byte[] json = mapper.writeValueAsBytes(response);
            byte[] out = new byte[json.length + 1];
            System.arraycopy(json, 0, out, 0, json.length);
            out[json.length] = '\n';
            return out;
        } catch (JsonProcessingException e) {
            return ("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"Internal error\"}}\n")
                    .getBytes(StandardCharsets.US_ASCII);
        }
    }
}
