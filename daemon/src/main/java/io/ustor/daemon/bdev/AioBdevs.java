package io.ustor.daemon.bdev;

import io.ustor.bdev.Bdev;
import io.ustor.bdev.BdevException;
import io.ustor.bdev.aio.AioBdev;
import io.ustor.rpc.RpcException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** bdev_aio_create's parameters to an {@link AioBdev}, and back for save_config. */
final class AioBdevs {
    private AioBdevs() {
    }

    static Bdev create(String name, String filename, int blockSize, boolean readonly, boolean fallocate,
                       boolean nowait, UUID uuid) throws RpcException {
        if (nowait) {
            // SPDK's RWF_NOWAIT submission flag; ustor's file engines do not use it.
            throw RpcException.invalidParams("parameter 'nowait': RWF_NOWAIT is not supported by ustor's aio bdev");
        }
        try {
            return AioBdev.create(new AioBdev.Options(name, filename, blockSize).withReadonly(readonly)
                    .withFallocate(fallocate).withUuid(uuid));
        } catch (BdevException e) {
            throw RpcException.errno(e.errno(), e.getMessage());
        }
    }

    /** The bdev_aio_create params (besides name and uuid) that recreate {@code b}, as SPDK writes them. */
    static Map<String, Object> config(Bdev b) {
        if (!(b instanceof AioBdev aio)) {
            return null;
        }
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("filename", aio.filename());
        if (aio.blockSizeOverride()) {
            p.put("block_size", aio.blockSize());
        }
        p.put("readonly", aio.readonly());
        p.put("fallocate", aio.fallocate());
        return p;
    }
}
