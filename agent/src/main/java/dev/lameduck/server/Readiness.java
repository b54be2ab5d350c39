package dev.lameduck.server;

import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code lameduck.readiness.paths}: from the lame-duck start, requests to these paths are answered 503 by every
 * HTTP server in the JVM, so that a readiness probe or a load balancer's health check fails, while every other
 * path is served as before. The servers' request advice is only installed when paths are configured, and tests
 * {@link #LAME_DUCK_PROPERTY} first: a JDK lookup, no reflection, until the lame duck starts.
 */
public final class Readiness {
    /** Set when the lame duck starts: what the request advice, inlined into server classes, can see cheaply. */
    public static final String LAME_DUCK_PROPERTY = "lameduck.internal.lame-duck";

    private static volatile Set<String> paths = Collections.emptySet();
    private static volatile boolean lameDuck;

    private Readiness() {}

    public static void configure(List<String> readinessPaths) {
        paths = Collections.unmodifiableSet(new HashSet<>(readinessPaths));
    }

    /** Whether any path is configured: only then do the servers get the request advice. */
    public static boolean configured() {
        return !paths.isEmpty();
    }

    public static void lameDuckStarted() {
        lameDuck = true;
        if (configured()) {
            System.setProperty(LAME_DUCK_PROPERTY, "true");
        }
    }

    /** Whether a request to {@code path} is to be answered 503 now. */
    public static boolean refuses(Object path) {
        return lameDuck && path != null && paths.contains(path.toString());
    }
}
