package io.ustor.daemon;

import io.ustor.daemon.cli.RpcCli;

/**
 * ustor-rpc: SPDK rpc.py's command-line form for the methods ustor implements, e.g.
 * {@code ustor-rpc bdev_malloc_create -b Malloc0 64 512}. Exit status 0 on success, 1 on an RPC or connection
 * error (printed like rpc.py prints it), 2 on a bad command line.
 */
public final class UstorRpc {
    private UstorRpc() {
    }

    public static void main(String[] args) {
        System.exit(RpcCli.run(args, System.out, System.err));
    }

}
