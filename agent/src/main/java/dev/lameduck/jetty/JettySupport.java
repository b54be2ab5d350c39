package dev.lameduck.jetty;

import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.Collections;
import java.util.List;
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
    public List<String> types() {
        return Collections.singletonList(SERVER);
    }

    @Override
    public AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice) {
        AgentBuilder.Transformer.ForAdvice server = advice.advice(named("doStart").and(takesArguments(0)), "dev.lameduck.jetty.JettySupport$StartAdvice");
        if (Readiness.configured()) {
            server = server
                    .advice(named("handle").and(takesArguments(1)).and(isPublic()), "dev.lameduck.jetty.JettySupport$ReadinessAdvice")
                    .advice(named("handle").and(takesArguments(3)).and(isPublic()), "dev.lameduck.jetty.JettySupport$Readiness12Advice");
        }
        return builder.type(named(SERVER).or(nameEndsWith("." + SERVER))).transform(server);
    }

    /**
     * Jetty 9.4 to 11, {@code Server.handle(HttpChannel)}: a readiness path is answered 503 with the request
     * marked handled; Jetty 12, {@code Server.handle(Request, Response, Callback)}: 503 and the callback succeeded.
     */
    @Override
    public boolean answerNotReady(Object request, Object response, Object callback) throws Exception {
        if (callback == null) {
            Object channel = request;
            Object servletRequest = Reflect.call(channel, "getRequest");
            if (!Readiness.refuses(Reflect.call(servletRequest, "getRequestURI"))) {
                return false;
            }
            Reflect.call(Reflect.call(channel, "getResponse"), "setStatus", 503);
            Reflect.call(servletRequest, "setHandled", true);
            return true;
        }
        if (!Readiness.refuses(Reflect.call(Reflect.call(request, "getHttpURI"), "getPath"))) {
            return false;
        }
        Reflect.call(response, "setStatus", 503);
        Reflect.call(callback, "succeeded");
        return true;
    }

    @Override
    public ServerHandle prepare(Object server) throws Exception {
        return JettyHandle.prepare(server);
    }

    /** Jetty 9.4 to 11: before {@code Server.handle(HttpChannel)}; skips it when the agent answered. */
    public static final class ReadinessAdvice {
        private ReadinessAdvice() {}

        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
        static boolean enter(@Advice.Argument(0) Object channel) throws Exception {
            return System.getProperty("lameduck.internal.lame-duck") != null
                    && (Boolean) Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                            .getMethod("answerNotReady", String.class, Object.class, Object.class, Object.class)
                            .invoke(null, "jetty", channel, null, null);
        }
    }

    /** Jetty 12: before {@code Server.handle(Request, Response, Callback)}; when the agent answered, skips it and returns true. */
    public static final class Readiness12Advice {
        private Readiness12Advice() {}

        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
        static boolean enter(@Advice.Argument(0) Object request, @Advice.Argument(1) Object response, @Advice.Argument(2) Object callback)
                throws Exception {
            return System.getProperty("lameduck.internal.lame-duck") != null
                    && (Boolean) Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                            .getMethod("answerNotReady", String.class, Object.class, Object.class, Object.class)
                            .invoke(null, "jetty", request, response, callback);
        }

        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Enter boolean answered, @Advice.Return(readOnly = false) boolean handled) {
            if (answered) {
                handled = true;
            }
        }
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
