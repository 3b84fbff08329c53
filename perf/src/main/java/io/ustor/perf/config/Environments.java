package io.ustor.perf.config;

import io.ustor.bdev.BdevRegistry;
import io.ustor.daemon.RuntimeOptions;
import io.ustor.daemon.UstorRuntime;
import io.ustor.env.DmaMemory;
import io.ustor.perf.BdevperfException;
import io.ustor.perf.BdevperfOptions;
import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;
import io.ustor.reactor.ReactorGroup;
import io.ustor.rpc.RpcException;

import java.io.IOException;

/**
 * Starts what bdevperf runs on from its command line: the daemon's runtime (reactors on -m, DMA memory per
 * -s/--huge-dir/--no-huge, no RPC server) with the --json config applied through the daemon's own RPC methods, so
 * every bdev method ustord knows works here too.
 */
public final class Environments {
    private Environments() {
    }

    public static PerfEnvironment start(BdevperfOptions o) throws BdevperfException, IOException {
        CoreMask mask;
        try {
            mask = CoreMask.parse(o.coreMask());
        } catch (IllegalArgumentException e) {
            throw new BdevperfException("-m: " + e.getMessage());
        }
        RuntimeOptions ro = RuntimeOptions.defaults().withCoreMask(mask).withMemSizeMb(o.memSizeMb())
                .withHugeDir(o.hugeDir()).withNoHuge(o.noHuge()).withIdleMode(IdleMode.BUSY_SPIN);
        UstorRuntime rt = UstorRuntime.start(ro);
        try {
            if (o.jsonConfig() != null) {
                rt.loadConfig(o.jsonConfig());
            }
        } catch (RpcException e) {
            rt.close();
            throw new BdevperfException(e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            rt.close();
            throw e;
        }
        return new Daemon(rt);
    }

    /** The daemon's runtime seen as bdevperf's environment. */
    private record Daemon(UstorRuntime runtime) implements PerfEnvironment {
        @Override
        public ReactorGroup reactors() {
            return runtime.reactors();
        }

        @Override
        public BdevRegistry bdevs() {
            return runtime.bdevs();
        }

        @Override
        public DmaMemory dma() {
            return runtime.dma();
        }

        @Override
        public void close() {
            runtime.close();
        }
    }
}
