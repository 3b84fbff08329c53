package io.ustor.daemon;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Raw JSON over the socket, as rpc.py sends it: objects with no framing, responses read as a value stream. */
final class RawJsonClient implements AutoCloseable {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private final SocketChannel ch;
    private JsonParser parser;

    RawJsonClient(Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
    }

    void send(String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    JsonNode next() throws IOException {
        if (parser == null) {
            parser = MAPPER.getFactory().createParser(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8));
        }
        return parser.nextToken() == null ? null : MAPPER.readTree(parser);
    }

    JsonNode call(int id, String method, String params) throws IOException {
        send("{\"jsonrpc\": \"2.0\", \"method\": \"" + method + "\", \"id\": " + id
                + (params == null ? "" : ", \"params\": " + params) + "}");
        return next();
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
