package io.ustor.bdev.error;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevDesc;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.BdevIo;
import io.ustor.bdev.BdevRegistry;
import io.ustor.bdev.IoType;
import io.ustor.bdev.VirtualBdev;
import io.ustor.env.Errno;
import io.ustor.reactor.Reactor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * SPDK's error injection bdev (bdev_error_create): {@code EE_<base>} passes every request to its base unless an
 * error armed for that request's type (bdev_error_inject_error) hits it. Arming replaces what was armed for the
 * type; "all" arms every type. When the base bdev goes away, so does this one.
 */
public final class ErrorBdev extends VirtualBdev {
    public static final String PREFIX = "EE_";

    private final BdevDesc baseDesc;
    /**
     * Armed errors by IoType ordinal; replaced from the RPC thread, read by every reactor's channel (an Injection's
     * final fields are seen whole once its reference is).
     */
    private final Injection[] armed = new Injection[IoType.values().length];

    private ErrorBdev(Bdev base, BdevDesc baseDesc, UUID uuid) {
        super(PREFIX + base.name(), base, base.numBlocks(), uuid);
        this.baseDesc = baseDesc;
    }

    /** Opens and claims {@code baseName} and makes {@code EE_<baseName>} over it; the caller registers it. */
    public static ErrorBdev create(BdevRegistry registry, String baseName, UUID uuidOrNull) {
        ErrorBdev[] self = new ErrorBdev[1];
        BdevDesc desc = VirtualBdev.openAndClaim(registry, baseName, "error", () -> {
            if (self[0] != null) {
                registry.unregister(self[0].name());
            }
        });
        self[0] = new ErrorBdev(desc.bdev(), desc, uuidOrNull);
        return self[0];
    }

    /** Gives up the base bdev when this bdev was never registered (registration failed). */
    public void releaseBase() {
        baseDesc.close();
    }

    /**
     * Arms {@code type} for the next {@code count} I/Os of {@code ioType} (null: every type), hitting only when a
     * channel has at least {@code queueDepth} I/Os in flight (0: always).
     */
    public void inject(IoType ioType, ErrorType type, long count, long queueDepth, long corruptOffset,
                       int corruptValue) {
        if (type == ErrorType.CORRUPT_DATA && (corruptValue < 1 || corruptValue > 255)) {
            throw new BdevException(Errno.EINVAL, "corrupt_data needs a corrupt_value of 1 to 255");
        }
        for (IoType t : IoType.values()) {
            if (ioType == null || ioType == t) {
                armed[t.ordinal()] = new Injection(type, count, queueDepth, corruptOffset, corruptValue);
            }
        }
    }

    /** SPDK's bdev_error_resume_pending: what PENDING errors hold goes on to the base after all. */
    public CompletableFuture<Void> resumePending() {
        return forEachModuleChannel(ch -> ((ErrorChannel) ch).resumeHeld());
    }

    /** Disarms every type (io_type "clear"). */
    public void clear() {
        java.util.Arrays.fill(armed, null);
    }

    /** What is armed for {@code t} now, or null. */
    Injection armed(IoType t) {
        return armed[t.ordinal()];
    }

    /** Hits left for {@code t}'s armed error (0 when none). */
    public long remaining(IoType t) {
        Injection i = armed[t.ordinal()];
        return i == null ? 0 : i.remaining();
    }

    @Override
    public String productName() {
        return "Error Injection Disk";
    }

    @Override
    public String moduleName() {
        return "error";
    }

    @Override
    public Map<String, Object> driverSpecific() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("base_bdev", base().name());
        return Map.of("error_disk", d);
    }

    @Override
    protected Object createChannel(Reactor reactor) {
        return new ErrorChannel(this, baseDesc);
    }

    @Override
    protected void destroyChannel(Reactor reactor, Object moduleChannel) {
        ((ErrorChannel) moduleChannel).close();
    }

    @Override
    protected void submit(Object moduleChannel, BdevIo io) {
        ((ErrorChannel) moduleChannel).submit(io);
    }

    @Override
    protected void resetStarting(Object moduleChannel) {
        ((ErrorChannel) moduleChannel).abortHeld(); // as SPDK: a reset ends what PENDING errors hold
    }

    @Override
    protected CompletableFuture<Void> destruct() {
        baseDesc.close();
        return CompletableFuture.completedFuture(null);
    }
}
