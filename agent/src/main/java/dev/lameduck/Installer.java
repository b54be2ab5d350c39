package dev.lameduck;

import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.lameduck.server.ServerSupport;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/** The advice: on {@code Runtime.exit}, and on each enabled server's start. */
final class Installer {
    private Installer() {}

    /** For an agent attached to a running JVM: installs at once, retransforming the classes already loaded. */
    static void install(Instrumentation instrumentation, Config config, List<ServerSupport> supports) {
        builder(config, supports).installOn(instrumentation);
    }

    /**
     * For {@code premain}: Byte Buddy's transformer, not registered: the {@link Gate} hands it the classes it
     * matches (and {@code java.lang.Runtime} when retransformed).
     */
    static ClassFileTransformer transformer(Config config, List<ServerSupport> supports) {
        return builder(config, supports).makeRaw();
    }

    /** The instrumented types as internal names, for the {@link Gate}. */
    static List<String> internalNames(Config config, List<ServerSupport> supports) {
        List<String> names = new ArrayList<>();
        if (config.exit) {
            names.add("java/lang/Runtime");
        }
        for (ServerSupport support : supports) {
            for (String type : support.types()) {
                names.add(type.replace('.', '/'));
            }
        }
        return names;
    }

    private static AgentBuilder builder(Config config, List<ServerSupport> supports) {
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
        return builder;
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
