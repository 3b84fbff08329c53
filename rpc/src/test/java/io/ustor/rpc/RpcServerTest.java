package io.ustor.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class RpcServerTest {
    @TempDir
    Path dir;
    Path socket;
    RpcRegistry registry;
    RpcServer server;
    final AtomicInteger pings = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("rpc.sock");
        registry = new RpcRegistry();
        registry.register("ping", p -> {
            p.requireNone("ping");
            pings.incrementAndGet();
            return "pong";
        });
        registry.register("echo", p -> p.node());
        registry.register("add", p -> {
            p.allowOnly(Set.of("a", "b"));
            return Map.of("sum", p.requiredLong("a") + p.optionalLong("b", 0));
        });
        registry.register("later", p -> CompletableFuture.supplyAsync(() -> List.of(1, 2, 3)));
        registry.register("fails_async", p -> CompletableFuture.failedFuture(RpcException.errno(17, "bdev X exists")));
        registry.register("bug", p -> {
            throw new IllegalStateException("boom");
        });
        server = RpcServer.start(socket, registry, RpcServerOptions.defaults().withMaxRequestBytes(64 * 1024)
                .withMaxConnections(8));
    }

    @AfterEach
    void stop() {
        server.close();
        registry.close();
    }

    @Test
    void answersARequestLikeSpdk() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            JsonNode r = c.call(1, "ping", null);
            assertEquals("2.0", r.get("jsonrpc").asText());
            assertEquals(1, r.get("id").asInt());
            assertEquals("pong", r.get("result").asText());
            assertNull(r.get("error"));
        }
    }

    @Test
    void requestSplitAcrossManyWritesIsReassembled() throws Exception {
        byte[] req = "{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"add\",\n  \"id\": \"x\",\n  \"params\": {\"a\": 40, \"b\": 2}\n}"
                .getBytes(StandardCharsets.UTF_8);
        try (RawRpcClient c = new RawRpcClient(socket)) {
            for (byte b : req) {
                c.send(new byte[]{b});
                Thread.sleep(1); // give the server a chance to read each byte on its own
            }
            JsonNode r = c.next();
            assertEquals("x", r.get("id").asText());
            assertEquals(42, r.get("result").get("sum").asInt());
        }
    }

    @Test
    void severalRequestsInOneWriteWithoutDelimiters() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            c.send("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":1,\"params\":{\"a\":1}}"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":2,\"params\":{\"a\":2}}"
                    + "  \n{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":3,\"params\":{\"a\":3}}");
            for (int i = 1; i <= 3; i++) {
                JsonNode r = c.next();
                assertEquals(i, r.get("id").asInt());
                assertEquals(i, r.get("result").get("sum").asInt());
            }
        }
    }

    @Test
    void batchGetsAnArrayWithoutTheNotifications() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            c.send("[{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":1,\"params\":{\"a\":5}},"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":2},"
                    + "42]");
            JsonNode r = c.next();
            assertTrue(r.isArray(), r.toString());
            assertEquals(3, r.size(), r.toString());
            assertEquals(5, r.get(0).get("result").get("sum").asInt());
            assertEquals(-32601, r.get(1).get("error").get("code").asInt());
            assertEquals(2, r.get(1).get("id").asInt());
            assertEquals(-32600, r.get(2).get("error").get("code").asInt());
            assertTrue(r.get(2).get("id").isNull());
            assertEquals(1, pings.get(), "the notification in the batch ran");
        }
    }

    @Test
    void notificationsGetNoResponse() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            c.send("{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}");
            c.send("[{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]");
            JsonNode r = c.call(9, "add", "{\"a\":1}");
            assertEquals(9, r.get("id").asInt(), "the first thing back is the answer to the request with an id");
            assertEquals(3, pings.get());
        }
    }

    @Test
    void emptyBatchAndTopLevelScalarAreInvalidRequests() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            c.send("[]");
            JsonNode r = c.next();
            assertEquals(-32600, r.get("error").get("code").asInt());
            assertTrue(r.get("id").isNull());
            c.send("\"hello\" ");
            assertEquals(-32600, c.next().get("error").get("code").asInt());
            assertEquals("pong", c.call(3, "ping", null).get("result").asText(), "connection still usable");
        }
    }

    @Test
    void invalidRequestsKeepTheConnection() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            c.send("{\"jsonrpc\":\"1.0\",\"method\":\"ping\",\"id\":1}");
            JsonNode r = c.next();
            assertEquals(-32600, r.get("error").get("code").asInt());
            assertEquals("Invalid request", r.get("error").get("message").asText());
            assertEquals(1, r.get("id").asInt());
            c.send("{\"jsonrpc\":\"2.0\",\"id\":2}");
            assertEquals(-32600, c.next().get("error").get("code").asInt());
            c.send("{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":3}");
            assertEquals(-32600, c.next().get("error").get("code").asInt());
            c.send("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":{\"a\":1}}");
            assertEquals(-32600, c.next().get("error").get("code").asInt());
            c.send("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":4,\"params\":5}");
            assertEquals(-32600, c.next().get("error").get("code").asInt());
            assertEquals("pong", c.call(5, "ping", null).get("result").asText());
        }
    }

    @Test
    void unknownMethod() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            JsonNode r = c.call(1, "bdev_does_not_exist", null);
            assertEquals(-32601, r.get("error").get("code").asInt());
            assertEquals("Method not found", r.get("error").get("message").asText());
        }
    }

    @Test
    void invalidParamsNameTheParameter() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            JsonNode r = c.call(1, "add", "{\"b\":1}");
            assertEquals(-32602, r.get("error").get("code").asInt());
            assertTrue(r.get("error").get("message").asText().contains("'a'"), r.toString());
            r = c.call(2, "add", "{\"a\":\"ten\"}");
            assertEquals(-32602, r.get("error").get("code").asInt());
            assertTrue(r.get("error").get("message").asText().contains("'a'"), r.toString());
            r = c.call(3, "add", "{\"a\":1,\"c\":2}");
            assertEquals(-32602, r.get("error").get("code").asInt());
            assertTrue(r.get("error").get("message").asText().contains("'c'"), r.toString());
            r = c.call(4, "ping", "{\"x\":1}");
            assertEquals(-32602, r.get("error").get("code").asInt());
            r = c.call(5, "add", "[1,2]");
            assertEquals(-32602, r.get("error").get("code").asInt());
        }
    }

    @Test
    void asyncResultsErrnoErrorsAndBugs() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            assertEquals("[1,2,3]", c.call(1, "later", null).get("result").toString());
            JsonNode e = c.call(2, "fails_async", null).get("error");
            assertEquals(-17, e.get("code").asInt());
            assertTrue(e.get("message").asText().startsWith("bdev X exists: "), e.toString());
            e = c.call(3, "bug", null).get("error");
            assertEquals(-32603, e.get("code").asInt());
        }
    }

    @Test
    void malformedJsonGetsParseErrorThenTheConnectionCloses() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            c.send("{\"jsonrpc\":\"2.0\",\"method\" \"ping\"}");
            JsonNode r = c.next();
            assertEquals(-32700, r.get("error").get("code").asInt());
            assertEquals("Parse error", r.get("error").get("message").asText());
            assertTrue(r.get("id").isNull());
            assertNull(c.next(), "server closed the connection");
        }
        try (RawRpcClient c = new RawRpcClient(socket)) {
            assertEquals("pong", c.call(1, "ping", null).get("result").asText(), "new connections are served");
        }
    }

    @Test
    void hugeRequestIsRejectedAndOthersAreServed() throws Exception {
        try (RawRpcClient big = new RawRpcClient(socket); RawRpcClient other = new RawRpcClient(socket)) {
            big.send("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1,\"params\":{\"data\":\"");
            byte[] chunk = "x".repeat(16 * 1024).getBytes(StandardCharsets.US_ASCII);
            try {
                for (int i = 0; i < 16; i++) {
                    big.send(chunk);
                }
            } catch (IOException closedUnderUs) {
                // the server may close before all of it is written
            }
            JsonNode r = big.next();
            assertEquals(-32600, r.get("error").get("code").asInt());
            assertTrue(r.get("error").get("message").asText().contains("too large"), r.toString());
            assertEquals("pong", other.call(2, "ping", null).get("result").asText());
        }
    }

    @Test
    void requestJustUnderTheLimitIsServed() throws IOException {
        try (RawRpcClient c = new RawRpcClient(socket)) {
            String data = "y".repeat(60 * 1024);
            JsonNode r = c.call(1, "echo", "{\"data\":\"" + data + "\"}");
            assertEquals(data, r.get("result").get("data").asText());
        }
    }

    @Test
    void clientVanishingMidRequestDoesNotDisturbOthers() throws Exception {
        try (RawRpcClient other = new RawRpcClient(socket)) {
            for (int i = 0; i < 20; i++) {
                RawRpcClient gone = new RawRpcClient(socket);
                gone.send("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":1,\"par");
                gone.close();
                RawRpcClient sentAndGone = new RawRpcClient(socket);
                sentAndGone.send("{\"jsonrpc\":\"2.0\",\"method\":\"later\",\"id\":1}");
                sentAndGone.close();
                assertEquals(i, other.call(i, "add", "{\"a\":" + i + "}").get("result").get("sum").asInt());
            }
        }
        waitFor(() -> server.connectionCount() == 0);
    }

    @Test
    void manyClientsAtOnceAndTheConnectionLimit() throws Exception {
        RawRpcClient[] clients = new RawRpcClient[8];
        for (int i = 0; i < clients.length; i++) {
            clients[i] = new RawRpcClient(socket);
        }
        try {
            for (int i = 0; i < clients.length; i++) {
                clients[i].send("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":" + i + ",\"params\":{\"a\":" + i + "}}");
            }
            for (int i = 0; i < clients.length; i++) {
                assertEquals(i, clients[i].next().get("result").get("sum").asInt());
            }
            try (RawRpcClient extra = new RawRpcClient(socket)) {
                JsonNode r = extra.next();
                assertEquals(-32603, r.get("error").get("code").asInt());
                assertTrue(r.get("error").get("message").asText().contains("Too many"), r.toString());
                assertNull(extra.next());
            }
        } finally {
            for (RawRpcClient c : clients) {
                c.close();
            }
        }
        waitFor(() -> server.connectionCount() == 0);
        try (RawRpcClient c = new RawRpcClient(socket)) {
            assertEquals("pong", c.call(1, "ping", null).get("result").asText());
        }
    }

    @Test
    void clientThatNeverReadsIsDroppedOthersAreServed() throws Exception {
        try (RpcServer small = RpcServer.start(dir.resolve("small.sock"), registry,
                RpcServerOptions.defaults().withMaxPendingResponseBytes(64 * 1024));
             RawRpcClient hog = new RawRpcClient(small.socketPath());
             RawRpcClient other = new RawRpcClient(small.socketPath())) {
            String data = "z".repeat(32 * 1024);
            try {
                for (int i = 0; i < 60; i++) { // ~2 MiB of answers, far more than the socket buffers hold
                    hog.send("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":" + i
                            + ",\"params\":{\"d\":\"" + data + "\"}}");
                }
            } catch (IOException droppedWhileSending) {
                // the server may drop the hog before it has written everything
            }
            waitFor(() -> small.connectionCount() == 1);
            assertEquals("pong", other.call(1, "ping", null).get("result").asText());
        }
    }

    @Test
    void startupStateGatesRuntimeMethods() throws Exception {
        try (RpcRegistry startup = new RpcRegistry(RpcState.STARTUP)) {
            startup.register("runtime_only", p -> true);
            startup.register("anytime", p -> true, true);
            startup.registerStartupOnly("framework_start_init", p -> {
                startup.enterRuntime();
                return true;
            });
            RpcException e = assertThrows(RpcException.class, () -> startup.callAndWait("runtime_only", null));
            assertEquals(RpcException.INVALID_STATE, e.code());
            assertTrue(startup.callAndWait("anytime", null).asBoolean());
            assertEquals(List.of("anytime", "framework_start_init"), startup.methods(true));
            assertFalse(startup.runtimeReached().isDone());
            startup.callAndWait("framework_start_init", null);
            assertTrue(startup.runtimeReached().isDone());
            assertTrue(startup.callAndWait("runtime_only", null).asBoolean());
            e = assertThrows(RpcException.class, () -> startup.callAndWait("framework_start_init", null));
            assertEquals(RpcException.INVALID_STATE, e.code());
        }
    }

    @Test
    void staleSocketIsReplacedLiveOneIsNot() throws Exception {
        IOException e = assertThrows(IOException.class, () -> RpcServer.start(socket, registry));
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        Path stale = dir.resolve("stale.sock");
        RpcServer first = RpcServer.start(stale, registry);
        first.close();
        assertFalse(Files.exists(stale), "close removes the socket file");
        // Simulate a crash: a socket file stays behind with nobody listening on it.
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(stale));
        }
        assertTrue(Files.exists(stale), "a dead socket file is left behind");
        try (RpcServer again = RpcServer.start(stale, registry);
             RawRpcClient c = new RawRpcClient(stale)) {
            assertEquals("pong", c.call(1, "ping", null).get("result").asText());
        }
    }

    @Test
    void closeRemovesTheSocketAndDropsClients() throws IOException {
        RawRpcClient c = new RawRpcClient(socket);
        assertEquals("pong", c.call(1, "ping", null).get("result").asText());
        server.close();
        assertFalse(Files.exists(socket));
        assertNull(c.next());
        c.close();
    }

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        for (int i = 0; i < 500 && !cond.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(cond.getAsBoolean(), "condition not reached in 5 s");
    }
}
