package io.ustor.bdev.delay;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.VirtualBdev;
import io.ustor.reactor.Reactor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * SPDK's delay bdev (bdev_delay_create): claims a base bdev and passes every request through to it, holding read and
 * write completions back until their latency has passed since submission. When the base bdev goes away, so does
 * this one.
 */
public final class DelayBdev extends VirtualBdev {

    private final BdevDesc baseDesc;
    private volatile DelayLatencies latencies;

    private DelayBdev(String name, Bdev base, BdevDesc baseDesc, DelayLatencies latencies, UUID uuid) {
        super(name, base, base.numBlocks(), uuid);
        this.baseDesc = baseDesc;
        this.latencies = latencies;
    }

    /**
     * Opens and claims {@code baseName} and makes the delay bdev over it; the caller registers it. Fails with ENODEV
     * when there is no such base bdev, EPERM when another module has claimed it.
     */
    public static DelayBdev create(BdevRegistry registry, String name, String baseName, DelayLatencies latencies,
                                   UUID uuidOrNull) {
        DelayBdev[] self = new DelayBdev[1];
        BdevDesc desc = VirtualBdev.openAndClaim(registry, baseName, "delay", () -> {
            if (self[0] != null) {
                registry.unregister(name);
            }
        });
        self[0] = new DelayBdev(name, desc.bdev(), desc, latencies, uuidOrNull);
        return self[0];
    }

    /** Gives up the base bdev when this delay bdev was never registered (registration failed). */
    public void releaseBase() {
        baseDesc.close();
    }

    public DelayLatencies latencies() {
        return latencies;
    }

    /** bdev_delay_update_latency: applies to I/O submitted from now on. */
    public void updateLatencies(DelayLatencies l) {
        this.latencies = l;
    }

    @Override
    public String productName() {
        return "delay";
    }

    @Override
    public String moduleName() {
        return "delay";
    }

    @Override
    public Map<String, Object> driverSpecific() {
        DelayLatencies l = latencies;
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("base_bdev_name", base().name());
        d.put("avg_read_latency", l.avgReadUs());
        d.put("p99_read_latency", l.p99ReadUs());
        d.put("avg_write_latency", l.avgWriteUs());
        d.put("p99_write_latency", l.p99WriteUs());
        return Map.of("delay", d);
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        return new DelayChannel(this, baseDesc, reactor);
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        ((DelayChannel) moduleChannel).close();
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        ((DelayChannel) moduleChannel).submit(io);
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        baseDesc.close();
        return CompletableFuture.completedFuture(null);
    }
}
