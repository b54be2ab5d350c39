package dev.lameduck.grpc;

import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.Discovery;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;

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

    @Override
    public List<String> types() {
        return Collections.singletonList(SERVER_IMPL);
    }

    @Override
    public AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice) {
        return builder.type(named(SERVER_IMPL).or(nameEndsWith("." + SERVER_IMPL)))
                .transform(advice.advice(named("start").and(takesArguments(0)).and(isPublic()), "dev.lameduck.grpc.GrpcSupport$StartAdvice"));
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

    /** After {@code ServerImpl.start()}: the server listens; nothing needs changing before it does. */
    public static final class StartAdvice {
        private StartAdvice() {}

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.This Object server, @Advice.Thrown Throwable failed) throws Exception {
            if (failed == null) {
                Class<?> bridge = Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader());
                bridge.getMethod("serverStarting", String.class, Object.class).invoke(null, "grpc", server);
                bridge.getMethod("serverStarted", String.class, Object.class).invoke(null, "grpc", server);
            }
        }
    }
}
