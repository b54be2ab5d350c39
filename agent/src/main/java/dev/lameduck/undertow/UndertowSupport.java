package dev.lameduck.undertow;

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

/** Undertow 2.2 to 2.4: {@code io.undertow.Undertow#start()}, also relocated. */
public final class UndertowSupport implements ServerSupport {
    static final String UNDERTOW = "io.undertow.Undertow";

    @Override
    public String kind() {
        return "undertow";
    }

    @Override
    public List<String> types() {
        return Collections.singletonList(UNDERTOW);
    }

    @Override
    public AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice) {
        return builder.type(named(UNDERTOW).or(nameEndsWith("." + UNDERTOW)))
                .transform(advice.advice(named("start").and(takesArguments(0)).and(isPublic()), "dev.lameduck.undertow.UndertowSupport$StartAdvice"));
    }

    @Override
    public ServerHandle prepare(Object server) throws Exception {
        if (server instanceof UndertowHandle.Listener) {
            return UndertowHandle.attach((UndertowHandle.Listener) server);
        }
        return UndertowHandle.prepare(server);
    }

    /**
     * Nothing refers to an Undertow object but the application, so an agent attached later finds what the server's
     * I/O threads lead to: XNIO's accepting channels (the selectors' keys carry their handles), each with the Undertow
     * open listener its accept listener hands connections to; XNIO channels without one are not Undertow's.
     */
    @Override
    public List<Object> started(Discovery discovery) {
        List<Object> found = new ArrayList<>();
        for (Object channel : discovery.reachableFromThreads("org.xnio.nio.NioTcpServer")) {
            Object openListener = discovery.nearest(channel, "io.undertow.server.OpenListener");
            if (openListener != null) {
                found.add(new UndertowHandle.Listener(channel, openListener));
            }
        }
        return found;
    }

    /** Around {@code Undertow.start()}: wraps the root handlers before they are used, reports the listeners after. */
    public static final class StartAdvice {
        private StartAdvice() {}

        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.This Object server) throws Exception {
            Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                    .getMethod("serverStarting", String.class, Object.class)
                    .invoke(null, "undertow", server);
        }

        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        static void exit(@Advice.This Object server, @Advice.Thrown Throwable failed) throws Exception {
            if (failed == null) {
                Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                        .getMethod("serverStarted", String.class, Object.class)
                        .invoke(null, "undertow", server);
            }
        }
    }
}
