package io.ustor.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Speaks to the server the way SPDK's rpc.py does: writes JSON text with no framing, reads the reply stream as a
 * sequence of JSON values, whatever the read boundaries.
 */
final class RawRpcClient implements AutoCloseable {
    static final ObjectMapper MAPPER = new ObjectMapper();

    final SocketChannel channel;
    private final InputStream in;
    private JsonParser parser;

    RawRpcClient(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        in = Channels.newInputStream(channel);
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    void send(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** The next JSON value from the server; null at end of stream. */
    JsonNode next() throws IOException {
        // A parser over the stream, not readValues(): that one would unwrap a batch response's array.
        if (parser == null) {
            parser = MAPPER.getFactory().createParser(in);
        }
        return parser.nextToken() == null ? null : MAPPER.readTree(parser);
    }

    /** Sends a request with an id and returns its response. */
    JsonNode call(int id, String method, String paramsJson) throws IOException {
        String req = "{\"jsonrpc\":\"2.0\",\"method\":\"" + method + "\",\"id\":" + id
                + (paramsJson == null ? "" : ",\"params\":" + paramsJson) + "}";
        send(req);
        return next();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
