package io.ustor.daemon;

import io.ustor.reactor.CoreMask;
import io.ustor.reactor.IdleMode;

import java.nio.file.Path;

/**
 * How to start a {@link UstorRuntime}; the fields mirror ustord's (and SPDK's) command line.
 *
 * @param coreMask   reactor cores ({@code -m})
 * @param memSizeMb  DMA memory reserved up front in MiB ({@code -s}); 0 grows on demand
 * @param hugeDir    hugetlbfs mount for page files ({@code --huge-dir}); null picks one
 * @param noHuge     ordinary locked memory instead of hugepages ({@code --no-huge})
 * @param idleMode   what idle reactors do (busy-spin like SPDK, or adaptive back-off)
 * @param rpcSocket  Unix socket of the JSON-RPC server ({@code -r}); null runs without one
 * @param waitForRpc start in the STARTUP RPC state until framework_start_init ({@code --wait-for-rpc})
 */
public record RuntimeOptions(CoreMask coreMask, long memSizeMb, Path hugeDir, boolean noHuge, IdleMode idleMode,
                             Path rpcSocket, boolean waitForRpc) {
    public static final Path DEFAULT_RPC_SOCKET = Path.of("/var/tmp/ustor.sock");

    public RuntimeOptions {
        if (coreMask == null || idleMode == null) {
            throw new IllegalArgumentException("core mask and idle mode are required");
        }
        if (memSizeMb < 0) {
            throw new IllegalArgumentException("memory size must be >= 0 MiB, not " + memSizeMb);
        }
    }

    /** Core 0, memory on demand, hugepages if there are any, busy-spinning reactors, no RPC server. */
    public static RuntimeOptions defaults() {
        return new RuntimeOptions(CoreMask.parse("0x1"), 0, null, false, IdleMode.BUSY_SPIN, null, false);
    }

    public RuntimeOptions withCoreMask(CoreMask m) {
        return new RuntimeOptions(m, memSizeMb, hugeDir, noHuge, idleMode, rpcSocket, waitForRpc);
    }

    public RuntimeOptions withMemSizeMb(long mb) {
        return new RuntimeOptions(coreMask, mb, hugeDir, noHuge, idleMode, rpcSocket, waitForRpc);
    }

    public RuntimeOptions withHugeDir(Path dir) {
        return new RuntimeOptions(coreMask, memSizeMb, dir, noHuge, idleMode, rpcSocket, waitForRpc);
    }

    public RuntimeOptions withNoHuge(boolean v) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, v, idleMode, rpcSocket, waitForRpc);
    }

    public RuntimeOptions withIdleMode(IdleMode m) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, m, rpcSocket, waitForRpc);
    }

    public RuntimeOptions withRpcSocket(Path socket) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, idleMode, socket, waitForRpc);
    }

    public RuntimeOptions withWaitForRpc(boolean v) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, idleMode, rpcSocket, v);
    }
}
