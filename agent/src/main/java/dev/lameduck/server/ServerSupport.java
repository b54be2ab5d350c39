package dev.lameduck.server;

import java.util.List;

/** One kind of server: how its start is noticed, and the handle that drives a started one. */
public interface ServerSupport {
    /** The name used in {@code lameduck.servers} and in the bridge's events, e.g. {@code jetty}. */
    String kind();

    /**
     * The calls to weave into this server's classes; the agent holds the loading of those classes (relocated
     * copies too) until its weaver is ready. The first hook's class is the server object {@link #prepare} takes.
     */
    List<Hook> hooks();

    /**
     * For an agent attached to a running JVM: the server objects of this kind that started before it came (their
     * start advice never ran), each as {@link #prepare} takes it. By default those of the first of {@link #types}
     * that the live threads lead to.
     */
    default List<Object> started(Discovery discovery) throws Exception {
        return discovery.reachableFromThreads(hooks().get(0).type);
    }

    /**
     * Called as the server object starts, before it listens (or, for a hook at a bind's exit, as it listens): returns
     * the handle that will drive it, or null when the object turns out to be no server's (the agent leaves it alone).
     */
    ServerHandle prepare(Object server) throws Exception;

    /**
     * For {@code lameduck.readiness.paths}, in the lame duck: if the request (the arguments of the server method
     * its {@link Hook.Where#NOT_READY} hook is in) is for a readiness path, answers it 503 and returns true. Servers whose
     * handle answers them itself, and those without HTTP, keep the default.
     */
    default boolean answerNotReady(Object request, Object response, Object callback) throws Exception {
        return false;
    }
}
