package io.ustor.daemon.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A JSON-RPC client for a Unix socket that behaves like SPDK's rpc.py: sends one request object, then reads until
 * one complete JSON value has arrived (no framing assumed), with a timeout.
 */
public final class UnixRpcClient implements AutoCloseable {
    private final ObjectMapper mapper = new ObjectMapper();
    private final SocketChannel channel;
    private JsonParser parser;
    private final Duration timeout;
    private int nextId = 1;

    public UnixRpcClient(Path socket, Duration timeout) throws IOException {
        this.timeout = timeout;
        this.channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot connect to " + socket + ": " + e.getMessage() + " (is ustord running?)", e);
        }
    }

    /** The whole response object (with "result" or "error"). */
    public JsonNode call(String method, JsonNode params) throws IOException {
        ObjectNode req = mapper.createObjectNode();
        req.put("jsonrpc", "2.0");
        req.put("method", method);
        req.put("id", nextId++);
        if (params != null && !params.isEmpty()) {
            req.set("params", params);
        }
        ByteBuffer b = ByteBuffer.wrap(mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(req));
        while (b.hasRemaining()) {
            channel.write(b);
        }
        // Channels have no read timeout: a watchdog closes the socket if the answer does not come in time.
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(timeout);
                channel.close();
            } catch (InterruptedException | IOException ignored) {
                // answered in time, or closing anyway
            }
        });
        try {
            if (parser == null) {
                // Created only now: a byte-stream parser reads ahead to detect the encoding. A Reader needs no
                // detection and returns whatever has arrived.
                parser = mapper.getFactory().createParser(
                        new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
            }
            if (parser.nextToken() == null) {
                throw new IOException("connection closed before a response to " + method + " arrived");
            }
            return mapper.readTree(parser);
        } catch (IOException e) {
            if (!channel.isOpen()) {
                throw new IOException("no response to " + method + " within " + timeout.toSeconds() + " s", e);
            }
            throw e;
        } finally {
            watchdog.interrupt();
        }
    }

    public ObjectMapper mapper() {
        return mapper;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
