package io.ustor.daemon;

import io.ustor.env.DmaOptions;
import io.ustor.env.IovaMode;
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
 * @param iovaMode   how device DMA addresses are formed ({@code --iova-mode}): VA for VFIO, PA for UIO
 */
public record RuntimeOptions(CoreMask coreMask, long memSizeMb, Path hugeDir, boolean noHuge, IdleMode idleMode,
                             Path rpcSocket, boolean waitForRpc, IovaMode iovaMode) {
    public static final Path DEFAULT_RPC_SOCKET = Path.of("/var/tmp/ustor.sock");

    public RuntimeOptions {
        if (coreMask == null || idleMode == null || iovaMode == null) {
            throw new IllegalArgumentException("core mask, idle mode and IOVA mode are required");
        }
        if (memSizeMb < 0) {
            throw new IllegalArgumentException("memory size must be >= 0 MiB, not " + memSizeMb);
        }
    }

    /** The options without an IOVA mode: {@link IovaMode#VA}. */
    public RuntimeOptions(CoreMask coreMask, long memSizeMb, Path hugeDir, boolean noHuge, IdleMode idleMode,
                          Path rpcSocket, boolean waitForRpc) {
        this(coreMask, memSizeMb, hugeDir, noHuge, idleMode, rpcSocket, waitForRpc, IovaMode.VA);
    }

    /**
     * Core 0, memory on demand, hugepages if there are any, busy-spinning reactors, no RPC server, IOVA = VA (the
     * system property {@code ustor.dma.iovaMode=pa} changes that, for embedders without an option of their own).
     */
    public static RuntimeOptions defaults() {
        return new RuntimeOptions(CoreMask.parse("0x1"), 0, null, false, IdleMode.BUSY_SPIN, null, false,
                DmaOptions.fromSystemProperties().iovaMode());
    }

    /** {@code --iova-mode}: VA (VFIO, the default) or PA (uio_pci_generic: physical addresses, needs root). */
    public RuntimeOptions withIovaMode(IovaMode m) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, idleMode, rpcSocket, waitForRpc, m);
    }

    public RuntimeOptions withCoreMask(CoreMask m) {
        return new RuntimeOptions(m, memSizeMb, hugeDir, noHuge, idleMode, rpcSocket, waitForRpc, iovaMode);
    }

    public RuntimeOptions withMemSizeMb(long mb) {
        return new RuntimeOptions(coreMask, mb, hugeDir, noHuge, idleMode, rpcSocket, waitForRpc, iovaMode);
    }

    public RuntimeOptions withHugeDir(Path dir) {
        return new RuntimeOptions(coreMask, memSizeMb, dir, noHuge, idleMode, rpcSocket, waitForRpc, iovaMode);
    }

    public RuntimeOptions withNoHuge(boolean v) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, v, idleMode, rpcSocket, waitForRpc, iovaMode);
    }

    public RuntimeOptions withIdleMode(IdleMode m) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, m, rpcSocket, waitForRpc, iovaMode);
    }

    public RuntimeOptions withRpcSocket(Path socket) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, idleMode, socket, waitForRpc, iovaMode);
    }

    public RuntimeOptions withWaitForRpc(boolean v) {
        return new RuntimeOptions(coreMask, memSizeMb, hugeDir, noHuge, idleMode, rpcSocket, v, iovaMode);
    }
}
