package dev.lameduck.shutdown;

import net.bytebuddy.asm.Advice;

/**
 * Inlined at the start of {@code java.lang.Runtime#exit(int)}, so that {@code System.exit(n)} from any thread
 * runs the shutdown sequence before the JVM's shutdown hooks. Bootstrap code cannot see the agent's classes:
 * JDK types only, the bridge found by name.
 */
public final class ExitAdvice {
    private ExitAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    static void enter(@Advice.Argument(0) int status) throws Exception {
        Class.forName("dev.lameduck.bridge.Bridge", true, ClassLoader.getSystemClassLoader())
                .getMethod("exitRequested", int.class)
                .invoke(null, status);
    }
}
