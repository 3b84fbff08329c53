package io.ustor.rpc;

/** SPDK's RPC states: STARTUP while waiting for framework_start_init (--wait-for-rpc), then RUNTIME. */
public enum RpcState {
    STARTUP, RUNTIME;

    int bit() {
        return 1 << ordinal();
    }
}
