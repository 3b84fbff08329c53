package io.ustor.rpc;

/**
 * One JSON-RPC method. Runs on the RPC worker thread (never on a reactor), one call at a time; anything that
 * touches reactors goes there by message and comes back as a {@link java.util.concurrent.CompletableFuture}.
 *
 * <p>The result is turned into JSON with Jackson: a {@code JsonNode}, a POJO/record, a Map, a String or a Boolean.
 * A {@code CompletableFuture} result is awaited without blocking the worker; it may complete with any of those or
 * exceptionally with an {@link RpcException}.
 */
@FunctionalInterface
public interface RpcMethod {
    Object call(RpcParams params) throws RpcException;
}
