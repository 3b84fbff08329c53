package io.ustor.rpc.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.util.TokenBuffer;

import java.io.IOException;

/**
 * Cuts a byte stream into top-level JSON values, the way SPDK's server reads its socket: values follow each other
 * with or without whitespace, one may arrive over many reads and one read may hold many. Jackson's non-blocking
 * parser validates as bytes arrive, so malformed input is rejected at once rather than when a closing brace
 * finally comes; a value larger than the limit is rejected while it is still arriving.
 */
public final class JsonValueSplitter {
    /** What the splitter found; called on the reading thread. */
    public interface Sink {
        /** A complete top-level value (object, array or scalar). */
        void onValue(JsonNode value);

        /** Malformed JSON: the stream cannot be resynchronised. */
        void onParseError(String detail);

        /** The value being read is over the size limit. */
        void onTooLarge(long limit);
    }

    private final ObjectMapper mapper;
    private final JsonParser parser;
    private final ByteArrayFeeder feeder;
    private final long maxValueBytes;
    private TokenBuffer value;
    private int depth;
    private long valueStart;
    private long fed;
    private long lastEnd;
    private boolean failed;

    public JsonValueSplitter(ObjectMapper mapper, long maxValueBytes) {
        this.mapper = mapper;
        this.maxValueBytes = maxValueBytes;
        try {
            this.parser = new JsonFactory().createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new IllegalStateException("Jackson non-blocking parser", e);
        }
        this.feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    }

    /**
     * Parses {@code buf[off, off+len)}; the array must stay unchanged until this returns. After a parse error or
     * an oversize value the splitter is done and ignores further input.
     */
    public void feed(byte[] buf, int off, int len, Sink sink) {
        if (failed || len == 0) {
            return;
        }
        try {
            feeder.feedInput(buf, off, off + len);
            fed += len;
            JsonToken t;
            while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
                if (value == null) {
                    value = new TokenBuffer(parser, null);
                    valueStart = parser.currentTokenLocation().getByteOffset();
                }
                value.copyCurrentEvent(parser);
                if (t.isStructStart()) {
                    depth++;
                } else if (t.isStructEnd()) {
                    depth--;
                }
                if (depth == 0) {
                    TokenBuffer complete = value;
                    value = null;
                    lastEnd = parser.currentLocation().getByteOffset();
                    JsonNode node;
                    try (JsonParser p = complete.asParser(mapper)) {
                        node = mapper.readTree(p);
                    }
                    sink.onValue(node);
                    if (failed) {
                        return;
                    }
                }
            }
        } catch (IOException e) {
            failed = true;
            value = null;
            sink.onParseError(e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.toString());
            return;
        }
        // Bytes of the value being read (or, before its first token is complete, since the last value ended).
        if (fed - (value != null ? valueStart : lastEnd) > maxValueBytes) {
            failed = true;
            value = null;
            sink.onTooLarge(maxValueBytes);
        }
    }

    /** True while part of a value has been read but not all of it. */
    public boolean midValue() {
        return value != null;
    }

    /** Stops parsing (the connection is closing). */
    public void stop() {
        failed = true;
        value = null;
    }
}
