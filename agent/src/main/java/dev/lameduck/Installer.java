package dev.lameduck;

import dev.lameduck.server.Hook;
import dev.lameduck.server.ServerSupport;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;

/** What is woven where: {@code Runtime.exit} and each enabled server's hooks. */
final class Installer {
    private Installer() {}

    static List<Hook> hooks(Config config, List<ServerSupport> supports) {
        List<Hook> hooks = new ArrayList<>();
        if (config.exit) {
            hooks.add(Hook.exitStatus());
        }
        for (ServerSupport support : supports) {
            hooks.addAll(support.hooks());
        }
        return hooks;
    }

    /**
     * Weaves from now on, and into the hooked classes loaded already: at JVM start only {@code java.lang.Runtime},
     * which is then done on a background thread ({@code inBackground}), off the application's start: a
     * {@code System.exit} before it is done finds no server to drain anyway.
     */
    static void install(Instrumentation instrumentation, List<Hook> hooks, boolean inBackground) throws Exception {
        instrumentation.addTransformer(new Weaver(hooks), true);
        if (!inBackground) {
            retransformLoaded(instrumentation, hooks);
            return;
        }
        Thread t = new Thread(() -> {
            try {
                retransformLoaded(instrumentation, hooks);
            } catch (Throwable e) {
                Log.failure("weaving the classes loaded before the agent", e);
            }
        }, "lameduck-install");
        t.setDaemon(true);
        t.start();
    }

    /** Retransforms the loaded classes that hooks match (through whichever transformer weaves them). */
    static void retransformLoaded(Instrumentation instrumentation, List<Hook> hooks) throws Exception {
        List<Class<?>> loaded = new ArrayList<>();
        for (Class<?> c : instrumentation.getAllLoadedClasses()) {
            String name = c.getName().replace('.', '/');
            for (Hook h : hooks) {
                if (h.matchesClass(name) && instrumentation.isModifiableClass(c)) {
                    loaded.add(c);
                    break;
                }
            }
        }
        if (!loaded.isEmpty()) {
            instrumentation.retransformClasses(loaded.toArray(new Class<?>[0]));
        }
    }
}
