package io.ustor.daemon.settings;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ustor.daemon.settings.SettingsSubsystem.When;
import io.ustor.env.net.SocketBuffers;
import io.ustor.rpc.RpcException;
import io.ustor.rpc.RpcParams;
import io.ustor.rpc.RpcRegistry;
import io.ustor.rpc.Subsystem;
import io.ustor.rpc.SubsystemContext;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SPDK's {@code sock} subsystem: {@code sock_set_default_impl}, {@code sock_impl_set_options} and
 * {@code sock_impl_get_options} for SPDK's "posix" and "ssl" implementations. Once set for "posix", its
 * recv_buf_size and send_buf_size are given to every TCP connection the front ends accept (before that, the
 * kernel's autotuned sizes; what get reports then are SPDK's defaults); the other options are checked and kept
 * (save_config writes what was set).
 */
final class SockSettings implements Subsystem {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> PARAMS = List.of("impl_name string!", "recv_buf_size u32", "send_buf_size u32",
            "enable_recv_pipe bool", "enable_quickack bool", "enable_placement_id u32",
            "enable_zerocopy_send_server bool", "enable_zerocopy_send_client bool", "zerocopy_threshold u32",
            "tls_version u32", "enable_ktls bool");

    private final Map<String, OptionsMethod> impls = new LinkedHashMap<>();
    private String defaultImpl;

    private SockSettings(SocketBuffers socketBuffers) {
        for (String impl : List.of("posix", "ssl")) {
            // SPDK's defaults for both implementations (module/sock/posix/posix.c).
            ObjectNode d = MAPPER.createObjectNode().put("impl_name", impl)
                    .put("recv_buf_size", 2 * 1024 * 1024).put("send_buf_size", 2 * 1024 * 1024)
                    .put("enable_recv_pipe", true).put("enable_quickack", false).put("enable_placement_id", 0)
                    .put("enable_zerocopy_send_server", impl.equals("posix")).put("enable_zerocopy_send_client", false)
                    .put("zerocopy_threshold", 0).put("tls_version", 0).put("enable_ktls", false);
            // posix is what ustor's TCP front ends are: its buffer sizes apply to the sockets they accept from then on.
            OptionsMethod.Hook hook = !impl.equals("posix") ? null : merged -> socketBuffers.set(
                    socketSize(merged, "recv_buf_size"), socketSize(merged, "send_buf_size"));
            impls.put(impl, new OptionsMethod("sock_impl_set_options", PARAMS, d, hook));
        }
    }

    private static int socketSize(ObjectNode merged, String name) throws RpcException {
        long v = merged.path(name).asLong();
        if (v > Integer.MAX_VALUE) {
            throw RpcException.invalidParams("parameter '" + name + "' is larger than a socket buffer can be: " + v);
        }
        return (int) v;
    }

    static SockSettings create(SocketBuffers socketBuffers) {
        return new SockSettings(socketBuffers);
    }

    @Override
    public String name() {
        return "sock";
    }

    @Override
    public void registerMethods(RpcRegistry registry, SubsystemContext ctx) {
        SettingsSubsystem.register(registry, "sock_set_default_impl", this::setDefaultImpl, When.STARTUP);
        SettingsSubsystem.register(registry, "sock_impl_set_options", p -> impl(p).call(p), When.STARTUP);
        SettingsSubsystem.register(registry, "sock_impl_get_options", this::getOptions, When.STARTUP_AND_RUNTIME);
    }

    private synchronized Object setDefaultImpl(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("impl_name"));
        impl(p);
        defaultImpl = p.requiredString("impl_name");
        return Boolean.TRUE;
    }

    private Object getOptions(RpcParams p) throws RpcException {
        p.allowOnly(Set.of("impl_name"));
        ObjectNode v = impl(p).values();
        v.remove("impl_name");
        return v;
    }

    private OptionsMethod impl(RpcParams p) throws RpcException {
        String name = p.requiredString("impl_name");
        OptionsMethod m = impls.get(name);
        if (m == null) {
            throw RpcException.invalidParams("impl_name: no socket implementation '" + name + "' (posix, ssl)");
        }
        return m;
    }

    @Override
    public synchronized List<ObjectNode> saveConfig() {
        List<ObjectNode> out = new ArrayList<>();
        if (defaultImpl != null) {
            ObjectNode call = MAPPER.createObjectNode().put("method", "sock_set_default_impl");
            call.putObject("params").put("impl_name", defaultImpl);
            out.add(call);
        }
        for (OptionsMethod m : impls.values()) {
            if (m.wasSet()) {
                out.add(m.configEntry());
            }
        }
        return out;
    }
}
