package dev.lameduck.netty;

import dev.lameduck.server.Hook;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.Arrays;
import java.util.List;

/**
 * Netty 4.1 and 4.2 servers, whatever framework binds them (Reactor Netty binds its channel itself, not through
 * {@code ServerBootstrap}): {@code io.netty.channel.AbstractChannel$AbstractUnsafe#bind}, the same in 4.0-4.2,
 * which runs on the channel's event loop, also relocated; prepared at its start, since the bind's promise, which
 * tells the application that it listens, is completed inside it (a signal right after would find no server),
 * logged at its end. Every channel binds there; {@link NettyHandle#prepare} keeps the listening ones that are not grpc-java's (the gRPC support
 * drives those).
 */
public final class NettySupport implements ServerSupport {
    private static final String UNSAFE = "io.netty.channel.AbstractChannel$AbstractUnsafe";

    @Override
    public String kind() {
        return "netty";
    }

    @Override
    public List<Hook> hooks() {
        return Arrays.asList(Hook.enter(kind(), "starting", UNSAFE, "bind", 2), Hook.exit(kind(), "started", UNSAFE, "bind", 2));
    }

    /** Null for a channel that is no server's listener: the agent leaves it alone. */
    @Override
    public ServerHandle prepare(Object unsafe) throws Exception {
        return NettyHandle.prepare(unsafe);
    }
}
