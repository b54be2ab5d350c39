package dev.lameduck.bridge;

import dev.lameduck.Log;

/**
 * The one way woven code reaches the agent. It runs in classes of any class loader, and in
 * {@code java.lang.Runtime}, so it cannot name this class: it loads it by name through the system class loader
 * (where {@code -javaagent} puts the agent jar, and an attach too) and calls {@link #event} by reflection, with
 * JDK types only. Nothing here throws back into the server's code.
 */
public final class Bridge {
    /** What the agent does with the events; set once the agent is installed. */
    public interface Receiver {
        void serverStarting(String kind, Object server);

        void serverStarted(String kind, Object server);

        void exitRequested(int status);

        boolean answerNotReady(String kind, Object request, Object response, Object callback);
    }

    private static volatile Receiver receiver;

    private Bridge() {}

    public static void connect(Receiver r) {
        receiver = r;
    }

    /**
     * What the woven calls invoke ({@code dev.lameduck.Weaver}): one signature for every event, so the woven code
     * has one shape. {@code notReady} returns whether the request was answered; the others return null.
     */
    public static Object event(String event, String kind, Object a, Object b, Object c) {
        try {
            switch (event) {
                case "starting":
                    serverStarting(kind, a);
                    break;
                case "started":
                    serverStarted(kind, a);
                    break;
                case "exit":
                    exitRequested((Integer) a);
                    break;
                case "notReady":
                    return answerNotReady(kind, a, b, c);
                default:
                    break;
            }
        } catch (Throwable t) {
            Log.failure("the " + event + " event of " + kind, t);
        }
        return Boolean.FALSE; // also what notReady's woven code reads when anything failed: the server goes on
    }

    public static void serverStarting(String kind, Object server) {
        Receiver r = receiver;
        if (r != null) {
            try {
                r.serverStarting(kind, server);
            } catch (Throwable t) {
                Log.failure("registering a starting " + kind + " server", t);
            }
        }
    }

    public static void serverStarted(String kind, Object server) {
        Receiver r = receiver;
        if (r != null) {
            try {
                r.serverStarted(kind, server);
            } catch (Throwable t) {
                Log.failure("registering a started " + kind + " server", t);
            }
        }
    }

    /** Called at the start of {@code Runtime.exit}: returns once the shutdown sequence has run. */
    public static void exitRequested(int status) {
        Receiver r = receiver;
        if (r != null) {
            try {
                r.exitRequested(status);
            } catch (Throwable t) {
                Log.failure("the shutdown sequence for System.exit(" + status + ")", t);
            }
        }
    }

    /**
     * From a server's request advice, once the lame duck has started (and readiness paths are configured): answers
     * 503 and returns true when the request is for a readiness path; the advice then skips the server's handling.
     */
    public static boolean answerNotReady(String kind, Object request, Object response, Object callback) {
        Receiver r = receiver;
        if (r != null) {
            try {
                return r.answerNotReady(kind, request, response, callback);
            } catch (Throwable t) {
                Log.failure("answering a readiness path on " + kind, t);
            }
        }
        return false;
    }
}
