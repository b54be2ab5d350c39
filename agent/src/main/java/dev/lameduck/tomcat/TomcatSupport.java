package dev.lameduck.tomcat;

import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;

/**
 * Tomcat 9, 10.1 and 11, embedded or the distribution: each {@code org.apache.catalina.connector.Connector} is
 * one server to drain. {@code initInternal()} runs before the connector binds, {@code startInternal()} once it
 * listens (both since Tomcat 7).
 */
public final class TomcatSupport implements ServerSupport {
    static final String CONNECTOR = "org.apache.catalina.connector.Connector";
    static final String ADAPTER = "org.apache.catalina.connector.CoyoteAdapter";

    @Override
    public String kind() {
        return "tomcat";
    }

    @Override
    public List<String> types() {
        return Readiness.configured() ? Arrays.asList(CONNECTOR, ADAPTER) : Collections.singletonList(CONNECTOR);
    }

    @Override
    public AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice) {
        AgentBuilder connector = builder.type(named(CONNECTOR).or(nameEndsWith("." + CONNECTOR)))
                .transform(advice.advice(named("initInternal").and(takesArguments(0)), "dev.lameduck.tomcat.TomcatSupport$InitAdvice")
                        .advice(named("startInternal").and(takesArguments(0)), "dev.lameduck.tomcat.TomcatSupport$StartAdvice"));
        if (!Readiness.configured()) {
            return connector;
        }
        return connector.type(named(ADAPTER).or(nameEndsWith("." + ADAPTER)))
                .transform(advice.advice(named("service").and(takesArguments(2)).and(isPublic()), "dev.lameduck.tomcat.TomcatSupport$ReadinessAdvice"));
    }

    /** {@code CoyoteAdapter.service(coyote Request, coyote Response)}: a readiness path gets 503, the processor ends the response. */
    @Override
    public boolean answerNotReady(Object request, Object response, Object callback) throws Exception {
        if (!Readiness.refuses(Reflect.call(request, "requestURI"))) {
            return false;
        }
        Reflect.call(response, "setStatus", 503);
        return true;
    }

    /** Before {@code CoyoteAdapter.service} (every HTTP/1.1 request and HTTP/2 stream); skips it when the agent answered. */
    public static final class ReadinessAdvice {
        private ReadinessAdvice() {}

        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
        static boolean enter(@Advice.Argument(0) Object request, @Advice.Argument(1) Object response) throws Exception {
            return System.getProperty("lameduck.internal.lame-duck") != null
                    && (Boolean) Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                            .getMethod("answerNotReady", String.class, Object.class, Object.class, Object.class)
                            .invoke(null, "tomcat", request, response, null);
        }
    }

    @Override
    public ServerHandle prepare(Object connector) throws Exception {
        return TomcatHandle.prepare(connector);
    }

    /** Before the connector binds: registered, so that it binds on start and can close its socket later. */
    public static final class InitAdvice {
        private InitAdvice() {}

        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.This Object connector) throws Exception {
            Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                    .getMethod("serverStarting", String.class, Object.class)
                    .invoke(null, "tomcat", connector);
        }
    }

    /** Once the connector listens: reported with its port. */
    public static final class StartAdvice {
        private StartAdvice() {}

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.This Object connector, @Advice.Thrown Throwable failed) throws Exception {
            if (failed == null) {
                Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                        .getMethod("serverStarted", String.class, Object.class)
                        .invoke(null, "tomcat", connector);
            }
        }
    }
}
