package dev.lameduck.server;

import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;

/** One kind of server: how its start is noticed, and the handle that drives a started one. */
public interface ServerSupport {
    /** The name used in {@code lameduck.servers} and in the bridge's events, e.g. {@code jetty}. */
    String kind();

    /**
     * The types {@link #instrument} matches, as class names (relocated copies, under any prefix, match too): the
     * agent holds their loading until the advice is ready.
     */
    List<String> types();

    /** Adds this server's type matchers and advice; {@code advice} already knows where advice classes are. */
    AgentBuilder instrument(AgentBuilder builder, AgentBuilder.Transformer.ForAdvice advice);

    /**
     * For an agent attached to a running JVM: the server objects of this kind that started before it came (their
     * start advice never ran), each as {@link #prepare} takes it. By default those of the first of {@link #types}
     * that the live threads lead to.
     */
    default List<Object> started(Discovery discovery) throws Exception {
        return discovery.reachableFromThreads(types().get(0));
    }

    /** Called as the server object starts, before it listens: returns the handle that will drive it. */
    ServerHandle prepare(Object server) throws Exception;

    /**
     * For {@code lameduck.readiness.paths}, in the lame duck: if the request (the arguments of the server method
     * the support's request advice wraps) is for a readiness path, answers it 503 and returns true. Servers whose
     * handle answers them itself, and those without HTTP, keep the default.
     */
    default boolean answerNotReady(Object request, Object response, Object callback) throws Exception {
        return false;
    }
}
