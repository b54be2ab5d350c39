package dev.lameduck.tomcat;

import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;

/**
 * Tomcat 9, 10.1 and 11, embedded or the distribution: each {@code org.apache.catalina.connector.Connector} is
 * one server to drain. {@code initInternal()} runs before the connector binds, {@code startInternal()} once it
 * listens (both since Tomcat 7).
 */
public final class TomcatSupport implements ServerSupport {
    static final String CONNECTOR = "org.apache.catalina.connector.Connector";

    @Override
    public String kind() {
        return "tomcat";
    }

    @Override
    public AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice) {
        return builder.type(named(CONNECTOR).or(nameEndsWith("." + CONNECTOR)))
                .transform(advice.advice(named("initInternal").and(takesArguments(0)), "dev.lameduck.tomcat.TomcatSupport$InitAdvice")
                        .advice(named("startInternal").and(takesArguments(0)), "dev.lameduck.tomcat.TomcatSupport$StartAdvice"));
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
