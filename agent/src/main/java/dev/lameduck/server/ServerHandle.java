package dev.lameduck.server;

import java.util.Collection;
import java.util.List;

/**
 * What the shutdown sequence needs of one running server, whatever its kind. Implementations drive the server
 * through its own API (by reflection, in the server's class loader) and must not throw: the sequence wraps
 * each call anyway, but a handle knows best what a failure means for its server.
 */
public interface ServerHandle {
    /** For the log: kind, version and ports, e.g. {@code jetty 12.1.14 on :8080}. */
    String describe();

    /** The listening ports, e.g. {@code :8080, :8443}. */
    String ports();

    /** Keep serving, but tell clients to go elsewhere: {@code Connection: close} from now on, GOAWAY. */
    void lameDuck();

    /** Close the listening sockets, so that new connections are refused; open connections keep working. */
    void stopAccepting();

    /**
     * Accepting has stopped: each open WebSocket is sent a close frame 1001 (Going Away), so that its client
     * reconnects elsewhere now rather than being cut at the stop. Returns how many were sent one. WebSockets are
     * not requests: none is counted in {@link #inFlight()}.
     */
    default int sayGoingAway() {
        return 0;
    }

    /** How many of the WebSockets sent Going Away are still open: their close not done yet. */
    default int openWebSockets() {
        return 0;
    }

    /**
     * The server's open connections, as objects whose identity stays the same while the connection lives, for
     * telling new connections from old ones ({@code lameduck.delay.quiet}); null when the server cannot tell.
     */
    Collection<?> connections();

    /** Requests received and not yet completed, async ones included. */
    int inFlight();

    /** Requests completed since the server started, for the summary line. */
    long completed();

    /** The requests in flight, each as {@code METHOD /path (age ms)}: never headers, queries or bodies. */
    List<String> describeInFlight();

    /** Whether a thread with this stack is inside one of this server's requests. */
    boolean isServing(StackTraceElement[] stack);

    /**
     * The calling thread is inside one of this server's requests and has called {@code System.exit}: that request
     * will never complete. Whatever the server (or a framework on it) would wait for at its stop on account of it
     * is let go of here, so that the exit stays prompt.
     */
    default void letGoOfExitingRequest() {}

    /** Stop the server now, closing whatever is still open. */
    void stop();
}
