package io.ustor.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * The RPC methods by name, the RPC state, and the single worker thread that runs them. Every call, from the socket
 * or from a config file, runs on that worker one at a time, the way SPDK runs RPCs on its app thread, so methods
 * need no locking among themselves. A method that waits (for reactors, for a bdev to appear) returns a
 * CompletableFuture and the worker moves on.
 */
public final class RpcRegistry implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RpcRegistry.class.getName());
    private static final int STARTUP = RpcState.STARTUP.bit();
    private static final int RUNTIME = RpcState.RUNTIME.bit();

    private record Entry(RpcMethod method, int stateMask) {
    }

    private final Map<String, Entry> methods = new ConcurrentHashMap<>();
    private final List<String> order = new ArrayList<>();
    private final ObjectMapper mapper = new ObjectMapper();
    private final ExecutorService worker;
    private volatile Thread workerThread;
    private final CompletableFuture<Void> runtimeReached = new CompletableFuture<>();
    private volatile RpcState state;

    /** A registry in {@code initialState}; RUNTIME unless the daemon waits for framework_start_init. */
    public RpcRegistry(RpcState initialState) {
        this.state = initialState;
        if (initialState == RpcState.RUNTIME) {
            runtimeReached.complete(null);
        }
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "rpc-worker");
            t.setDaemon(true);
            workerThread = t;
            return t;
        });
    }

    public RpcRegistry() {
        this(RpcState.RUNTIME);
    }

    /** A method callable only at run time (after framework_start_init), like SPDK_RPC_RUNTIME. */
    public void register(String method, RpcMethod m) {
        register(method, m, RUNTIME);
    }

    /** {@code allowedBeforeInit}: also callable in the STARTUP state (SPDK_RPC_STARTUP | SPDK_RPC_RUNTIME). */
    public void register(String method, RpcMethod m, boolean allowedBeforeInit) {
        register(method, m, allowedBeforeInit ? STARTUP | RUNTIME : RUNTIME);
    }

    /** A method callable only before framework_start_init (SPDK_RPC_STARTUP), e.g. framework_start_init itself. */
    public void registerStartupOnly(String method, RpcMethod m) {
        register(method, m, STARTUP);
    }

    private synchronized void register(String method, RpcMethod m, int mask) {
        if (method == null || method.isEmpty() || m == null) {
            throw new IllegalArgumentException("method name and implementation are required");
        }
        if (methods.putIfAbsent(method, new Entry(m, mask)) != null) {
            throw new IllegalStateException("RPC method " + method + " is already registered");
        }
        order.add(method);
    }

    public boolean contains(String method) {
        return methods.containsKey(method);
    }

    /** Method names in registration order; {@code currentOnly}: only those callable in the current state. */
    public synchronized List<String> methods(boolean currentOnly) {
        List<String> out = new ArrayList<>(order.size());
        int bit = state.bit();
        for (String name : order) {
            if (!currentOnly || (methods.get(name).stateMask & bit) != 0) {
                out.add(name);
            }
        }
        return out;
    }

    public RpcState state() {
        return state;
    }

    /** STARTUP -> RUNTIME (framework_start_init); completes {@link #runtimeReached()}. */
    public void enterRuntime() {
        state = RpcState.RUNTIME;
        runtimeReached.complete(null);
    }

    /** Completes when the state is RUNTIME (framework_wait_init). */
    public CompletableFuture<Void> runtimeReached() {
        return runtimeReached.copy();
    }

    /** The mapper results are converted with. */
    public ObjectMapper mapper() {
        return mapper;
    }

    /**
     * Calls {@code method} on the worker thread; the future completes with the result as JSON or exceptionally
     * with an {@link RpcException} (unknown method, wrong state, bad params, method failure).
     */
    public CompletableFuture<JsonNode> call(String method, JsonNode params) {
        CompletableFuture<JsonNode> out = new CompletableFuture<>();
        try {
            worker.execute(() -> invoke(method, params, out));
        } catch (RejectedExecutionException e) {
            out.completeExceptionally(RpcException.internal("the RPC worker is shut down"));
        }
        return out;
    }

    /** {@link #call} and wait; for config loading from a non-worker thread. */
    public JsonNode callAndWait(String method, JsonNode params) throws RpcException {
        if (Thread.currentThread() == workerThread) {
            throw new IllegalStateException("callAndWait on the RPC worker would deadlock");
        }
        try {
            return call(method, params).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw RpcException.internal("interrupted while waiting for " + method);
        } catch (ExecutionException e) {
            throw toRpcException(method, e.getCause());
        }
    }

    private void invoke(String method, JsonNode params, CompletableFuture<JsonNode> out) {
        Entry e = methods.get(method);
        if (e == null) {
            out.completeExceptionally(new RpcException(RpcException.METHOD_NOT_FOUND, "Method not found"));
            return;
        }
        RpcState s = state;
        if ((e.stateMask & s.bit()) == 0) {
            out.completeExceptionally(new RpcException(RpcException.INVALID_STATE, s == RpcState.STARTUP
                    ? "Method may only be called after framework is initialized using framework_start_init RPC."
                    : "Method may only be called before framework is initialized. Use --wait-for-rpc command "
                    + "line parameter and then issue this RPC before the framework_start_init RPC."));
            return;
        }
        Object result;
        try {
            result = e.method.call(RpcParams.of(params));
        } catch (Throwable t) {
            out.completeExceptionally(toRpcException(method, t));
            return;
        }
        if (result instanceof CompletableFuture<?> f) {
            // Finish on the worker, not on whatever thread (a reactor) completed the future.
            f.whenCompleteAsync((r, t) -> {
                if (t != null) {
                    out.completeExceptionally(toRpcException(method, t));
                } else {
                    complete(method, r, out);
                }
            }, worker);
        } else {
            complete(method, result, out);
        }
    }

    private void complete(String method, Object result, CompletableFuture<JsonNode> out) {
        try {
            out.complete(result == null ? NullNode.getInstance()
                    : result instanceof JsonNode n ? n : mapper.valueToTree(result));
        } catch (RuntimeException ex) {
            out.completeExceptionally(toRpcException(method, ex));
        }
    }

    /** Unwraps futures' wrappers; anything that is not an RpcException is a bug: -32603, logged with its stack. */
    static RpcException toRpcException(String method, Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof RpcException r) {
            return r;
        }
        LOG.log(System.Logger.Level.ERROR, "RPC " + method + " failed", t);
        return new RpcException(RpcException.INTERNAL_ERROR, "Internal error: " + t, t);
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
