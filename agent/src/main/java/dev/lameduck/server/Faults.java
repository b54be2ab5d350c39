package dev.lameduck.server;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Failures injected by the tests (issue 6), to prove that a broken agent leaves the application working:
 * {@code -Dlameduck.internal.fail=install,prepare,lameDuck,...} makes those points throw. {@code install} and
 * {@code prepare} are the agent's own steps; the others are {@link ServerHandle} methods. Deliberately a system
 * property only, not an option: nobody should set it but a test.
 */
public final class Faults {
    private static final List<String> POINTS = Arrays.asList(System.getProperty("lameduck.internal.fail", "").split(","));

    private Faults() {}

    /** Throws when the tests asked this point to fail. */
    public static void at(String point) {
        if (POINTS.contains(point)) {
            throw new IllegalStateException("injected failure at " + point + " (lameduck.internal.fail)");
        }
    }

    /** The handle itself, or, when the tests asked for failing handle methods, a handle whose methods throw. */
    public static ServerHandle inject(ServerHandle h) {
        return POINTS.equals(Arrays.asList("")) ? h : new Failing(h);
    }

    private static final class Failing implements ServerHandle {
        private final ServerHandle h;

        Failing(ServerHandle h) {
            this.h = h;
        }

        @Override
        public String describe() {
            return h.describe();
        }

        @Override
        public String ports() {
            return h.ports();
        }

        @Override
        public void lameDuck() {
            at("lameDuck");
            h.lameDuck();
        }

        @Override
        public void stopAccepting() {
            at("stopAccepting");
            h.stopAccepting();
        }

        @Override
        public Collection<?> connections() {
            at("connections");
            return h.connections();
        }

        @Override
        public int inFlight() {
            at("inFlight");
            return h.inFlight();
        }

        @Override
        public long completed() {
            return h.completed();
        }

        @Override
        public List<String> describeInFlight() {
            at("describeInFlight");
            return h.describeInFlight();
        }

        @Override
        public boolean isServing(StackTraceElement[] stack) {
            return h.isServing(stack);
        }

        @Override
        public void stop() {
            at("stop");
            h.stop();
        }
    }
}
