package dev.lameduck.grpc;

import dev.lameduck.server.Discovery;
import dev.lameduck.server.Hook;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * grpc-java 1.60 to 1.85, over grpc-netty or grpc-netty-shaded: {@code io.grpc.internal.ServerImpl#start()}
 * (what {@code ServerBuilder.build()} returns, whatever the transport), also relocated.
 */
public final class GrpcSupport implements ServerSupport {
    static final String SERVER_IMPL = "io.grpc.internal.ServerImpl";

    @Override
    public String kind() {
        return "grpc";
    }

    /** After {@code ServerImpl.start()}: the server listens; nothing needs changing before it does. */
    @Override
    public List<Hook> hooks() {
        return Arrays.asList(Hook.exit(kind(), "starting", SERVER_IMPL, "start", 0), Hook.exit(kind(), "started", SERVER_IMPL, "start", 0));
    }

    /**
     * Every started grpc-java server is in channelz, grpc's own registry (ServerImpl.start() adds it, since grpc
     * 1.14): {@code InternalChannelz.instance().getServers(fromId, max).servers}.
     */
    @Override
    public List<Object> started(Discovery discovery) throws Exception {
        List<Object> found = new ArrayList<>();
        for (Class<?> channelz : discovery.loaded("io.grpc.InternalChannelz")) {
            Object registry = channelz.getMethod("instance").invoke(null);
            Object page = channelz.getMethod("getServers", long.class, int.class).invoke(registry, 0L, 1000);
            for (Object server : (List<?>) page.getClass().getField("servers").get(page)) {
                if (server.getClass().getName().endsWith(SERVER_IMPL)) {
                    found.add(server);
                }
            }
        }
        return found;
    }

    @Override
    public ServerHandle prepare(Object server) throws Exception {
        return GrpcHandle.prepare(server);
    }

}
