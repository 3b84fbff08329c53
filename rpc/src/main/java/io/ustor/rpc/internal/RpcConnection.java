package io.ustor.rpc.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.ustor.rpc.RpcException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client connection. Everything but {@link #respond} runs on the selector thread; responses arrive from the
 * RPC worker through a queue and a selector wake-up.
 */
final class RpcConnection implements JsonValueSplitter.Sink {
    private static final System.Logger LOG = System.getLogger(RpcConnection.class.getName());

    final String name;
    final SocketChannel channel;
    SelectionKey key;
    private final RpcSelectorLoop loop;
    private final RpcDispatcher dispatcher;
    private final JsonValueSplitter splitter;
    private final ConcurrentLinkedQueue<byte[]> completed = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<ByteBuffer> sendQueue = new ArrayDeque<>();
    private final AtomicInteger outstanding = new AtomicInteger();
    private long pendingBytes;
    private boolean inputClosed;
    private boolean closeAfterFlush;
    private boolean closed;
    long lastActivityNanos = System.nanoTime();

    RpcConnection(String name, SocketChannel channel, RpcSelectorLoop loop, RpcDispatcher dispatcher) {
        this.name = name;
        this.channel = channel;
        this.loop = loop;
        this.dispatcher = dispatcher;
        this.splitter = new JsonValueSplitter(dispatcher.mapper(), loop.options().maxRequestBytes());
    }

    /** Readable: read what is there and parse it. */
    void onReadable(ByteBuffer buf) {
        lastActivityNanos = System.nanoTime();
        int n;
        try {
            buf.clear();
            n = channel.read(buf);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "rpc conn {0}: read failed: {1}", name, e.toString());
            close();
            return;
        }
        if (n < 0) {
            inputClosed = true;
            splitter.stop();
            maybeFinish();
            return;
        }
        if (closeAfterFlush) {
            return; // after a fatal error nothing more is read
        }
        splitter.feed(buf.array(), 0, n, this);
        updateInterest();
    }

    @Override
    public void onValue(JsonNode value) {
        outstanding.incrementAndGet();
        dispatcher.dispatch(value).whenComplete((bytes, t) -> respond(bytes));
    }

    @Override
    public void onParseError(String detail) {
        // No resynchronisation point in a JSON stream: answer, then close (as SPDK does).
        LOG.log(System.Logger.Level.INFO, "rpc conn {0}: parse error: {1}", name, detail);
        queue(dispatcher.encode(dispatcher.error(NullNode.getInstance(), RpcException.PARSE_ERROR, "Parse error")));
        closeAfterFlush = true;
    }

    @Override
    public void onTooLarge(long limit) {
        LOG.log(System.Logger.Level.WARNING, "rpc conn {0}: request larger than {1} bytes, closing", name, limit);
        queue(dispatcher.encode(dispatcher.error(NullNode.getInstance(), RpcException.INVALID_REQUEST,
                "Request too large: more than " + limit + " bytes")));
        closeAfterFlush = true;
    }

    /** Any thread: a response is ready (null: nothing to send). */
    private void respond(byte[] bytes) {
        completed.add(bytes == null ? EMPTY : bytes);
        loop.wakeup(this);
    }

    private static final byte[] EMPTY = new byte[0];

    /** Selector thread: move finished responses to the send queue and write. */
    void onResponsesReady() {
        byte[] b;
        while ((b = completed.poll()) != null) {
            outstanding.decrementAndGet();
            if (b.length > 0 && !closed) {
                queue(b);
            }
        }
        if (!closed) {
            flush();
        }
    }

    private void queue(byte[] bytes) {
        pendingBytes += bytes.length;
        sendQueue.add(ByteBuffer.wrap(bytes));
        if (pendingBytes > loop.options().maxPendingResponseBytes()) {
            LOG.log(System.Logger.Level.WARNING, "rpc conn {0}: client is not reading ({1} bytes queued), dropping it",
                    name, pendingBytes);
            close();
        }
    }

    /** Selector thread: write as much as the socket takes. */
    void flush() {
        if (closed) {
            return;
        }
        try {
            ByteBuffer head;
            while ((head = sendQueue.peek()) != null) {
                int n = channel.write(head);
                pendingBytes -= n;
                if (head.hasRemaining()) {
                    break;
                }
                sendQueue.poll();
                lastActivityNanos = System.nanoTime();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "rpc conn {0}: write failed: {1}", name, e.toString());
            close();
            return;
        }
        maybeFinish();
        updateInterest();
    }

    private void maybeFinish() {
        if (closed) {
            return;
        }
        boolean idle = sendQueue.isEmpty() && outstanding.get() == 0 && completed.isEmpty();
        if (closeAfterFlush && sendQueue.isEmpty()) {
            close();
        } else if (inputClosed && idle) {
            close();
        }
    }

    private void updateInterest() {
        if (closed || key == null || !key.isValid()) {
            return;
        }
        int ops = 0;
        if (!inputClosed && !closeAfterFlush && outstanding.get() < loop.options().maxOutstandingRequests()) {
            ops |= SelectionKey.OP_READ;
        } else if (!inputClosed && closeAfterFlush) {
            ops |= SelectionKey.OP_READ; // notice a peer that goes away instead of reading the error
        }
        if (!sendQueue.isEmpty()) {
            ops |= SelectionKey.OP_WRITE;
        }
        key.interestOps(ops);
    }

    /** Idle: nothing in flight or queued. */
    boolean quiet() {
        return sendQueue.isEmpty() && outstanding.get() == 0 && completed.isEmpty() && !splitter.midValue();
    }

    boolean isClosed() {
        return closed;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        splitter.stop();
        sendQueue.clear();
        pendingBytes = 0;
        if (key != null) {
            key.cancel();
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        loop.removed(this);
        LOG.log(System.Logger.Level.DEBUG, "rpc conn {0}: closed", name);
    }
}
