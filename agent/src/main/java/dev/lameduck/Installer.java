package dev.lameduck;

import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.ServerSupport;
import java.lang.instrument.Instrumentation;
import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/** Installs the advice: on {@code Runtime.exit}, and on each enabled server's start. */
final class Installer {
    private Installer() {}

    static void install(Instrumentation instrumentation, Config config, List<ServerSupport> supports) {
        AgentBuilder.Transformer.ForAdvice advice = new AgentBuilder.Transformer.ForAdvice()
                // Advice classes are read from the agent's jar, whatever loader the instrumented class has
                // (bootstrap for java.lang.Runtime).
                .include(Installer.class.getClassLoader());
        AgentBuilder builder = new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.DECORATE)
                .with(new ErrorsOnly())
                // Byte Buddy's default ignores every bootstrap class; we need java.lang.Runtime.
                .ignore(nameStartsWith("net.bytebuddy.")
                        .or(nameStartsWith("dev.lameduck."))
                        .or(nameStartsWith("jdk."))
                        .or(nameStartsWith("sun."))
                        .or(nameStartsWith("com.sun."))
                        .or(nameStartsWith("java.").and(not(named("java.lang.Runtime")))));
        if (config.exit) {
            builder = builder.type(named("java.lang.Runtime"))
                    .transform(advice.advice(named("exit").and(takesArguments(int.class)), "dev.lameduck.shutdown.ExitAdvice"));
        }
        for (ServerSupport support : supports) {
            builder = support.instrument(builder, advice);
        }
        builder.installOn(instrumentation);
    }

    /** Logs what could not be instrumented, once per type; stays silent otherwise. */
    private static final class ErrorsOnly extends AgentBuilder.Listener.Adapter {
        @Override
        public void onError(String typeName, ClassLoader classLoader, JavaModule module, boolean loaded, Throwable throwable) {
            Log.warn("could not instrument %s: %s", typeName, throwable);
        }

        @Override
        public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded, DynamicType dynamicType) {
            Log.debug("instrumented %s", type.getName());
        }
    }
}
