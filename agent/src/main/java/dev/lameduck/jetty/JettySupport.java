package dev.lameduck.jetty;

import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;

/**
 * Jetty 9.4 to 12.1: {@code org.eclipse.jetty.server.Server#doStart()} exists unchanged in all of them, also
 * under a relocated package inside a fat jar.
 */
public final class JettySupport implements ServerSupport {
    static final String SERVER = "org.eclipse.jetty.server.Server";

    @Override
    public String kind() {
        return "jetty";
    }

    @Override
    public AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice) {
        return builder.type(named(SERVER).or(nameEndsWith("." + SERVER)))
                .transform(advice.advice(named("doStart").and(takesArguments(0)), "dev.lameduck.jetty.JettySupport$StartAdvice"));
    }

    @Override
    public ServerHandle prepare(Object server) throws Exception {
        return JettyHandle.prepare(server);
    }

    /** Around {@code Server.doStart()}: registers the server before it listens, and reports it once it does. */
    public static final class StartAdvice {
        private StartAdvice() {}

        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.This Object server) throws Exception {
            Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                    .getMethod("serverStarting", String.class, Object.class)
                    .invoke(null, "jetty", server);
        }

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.This Object server, @Advice.Thrown Throwable failed) throws Exception {
            if (failed == null) {
                Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                        .getMethod("serverStarted", String.class, Object.class)
                        .invoke(null, "jetty", server);
            }
        }
    }
}
