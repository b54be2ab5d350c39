package dev.lameduck;

import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Keeps Byte Buddy off the application's start: registered in {@code premain} before anything else is loaded, it
 * looks at each class's name only (a few string comparisons), lets every other class through untouched, and holds
 * the loading of a server class (or a relocated copy of one) until Byte Buddy's transformer, built on a background
 * thread, is ready; then it hands the class to it. An application that loads no server class never waits, and one
 * that loads its server after the build (most do: Spring Boot after a second or more) does not wait at all.
 */
final class Gate implements ClassFileTransformer {
    /** How long a server class's loading may wait for Byte Buddy before it goes on without the advice. */
    private static final long WAIT_SECONDS = 30;

    private final List<String> internalNames;
    private final CountDownLatch ready = new CountDownLatch(1);
    private volatile ClassFileTransformer delegate;

    /** @param internalNames the instrumented types, as internal names ({@code org/eclipse/jetty/server/Server}) */
    Gate(List<String> internalNames) {
        this.internalNames = internalNames;
    }

    /** Byte Buddy's transformer is built (null: it could not be; classes then load as they are). */
    void open(ClassFileTransformer transformer) {
        delegate = transformer;
        ready.countDown();
    }

    @Override
    public byte[] transform(ClassLoader loader, String name, Class<?> classBeingRedefined, ProtectionDomain domain, byte[] bytes) {
        if (!matches(name)) {
            return null;
        }
        try {
            if (!ready.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                Log.warn("the agent was not ready after %ds: %s is loaded without it", WAIT_SECONDS, name.replace('/', '.'));
                return null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        ClassFileTransformer d = delegate;
        try {
            return d == null ? null : d.transform(loader, name, classBeingRedefined, domain, bytes);
        } catch (Throwable t) {
            Log.failure("instrumenting " + name.replace('/', '.'), t);
            return null;
        }
    }

    private boolean matches(String name) {
        if (name == null) {
            return false;
        }
        for (String n : internalNames) {
            if (name.endsWith(n) && (name.length() == n.length() || name.charAt(name.length() - n.length() - 1) == '/')) {
                return true;
            }
        }
        return false;
    }
}
