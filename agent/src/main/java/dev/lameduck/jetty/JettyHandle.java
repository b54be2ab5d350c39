package dev.lameduck.jetty;

import static dev.lameduck.server.Reflect.call;
import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Drives one Jetty server (9.4 to 12.1) through its own API.
 *
 * <ul>
 *   <li>In flight: a {@code StatisticsHandler} put around the server's handler as it starts counts requests
 *       from arrival to completion, async ones included (9.4-11: servlet async; 12: the handler's callback).
 *       Its own graceful shutdown, which answers 503, is never used.</li>
 *   <li>Lame duck: an {@code HttpConfiguration.Customizer} added to every connector ({@link LameDuckCustomizer})
 *       adds {@code Connection: close} to the responses of connections told to go, keeping their framing; HTTP/2
 *       connections get a graceful GOAWAY.</li>
 *   <li>Stop accepting: the acceptors are parked, the connections already queued accepted, and the listening
 *       channel closed ({@link #stopAccepting()}). Not {@code Connector.shutdown()}: since 10.0 it also shortens
 *       the idle timeout of open connections, which would close keep-alive connections under clients about to
 *       use them.</li>
 * </ul>
 */
final class JettyHandle implements ServerHandle {
    private static final long TELL_EVERY_MILLIS = 50;
    /** How long the acceptors may take to leave {@code accept()} when accepting stops. */
    private static final long PARK_MILLIS = 500;

    private final Object server;
    private final Object statistics;
    private final String serverClass;
    private final String version;
    private volatile boolean accepting = true;
    /** Connections told by {@link #tellAsRamped()}: HTTP/2 ones sent their GOAWAY, HTTP/1 ones their request in flight told. */
    private final Set<Object> told = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private LameDuckCustomizer customizer;
    /** The end points of the WebSockets sent Going Away. */
    private final List<Object> goingAway = new ArrayList<>();
    /** The connections the last walk saw. */
    private Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());

    private JettyHandle(Object server, Object statistics, String serverClass, String version) {
        this.server = server;
        this.statistics = statistics;
        this.serverClass = serverClass;
        this.version = version;
    }

    /** Before the server starts: wraps its handler so that requests are counted. */
    static JettyHandle prepare(Object server) throws Exception {
        Class<?> base = server.getClass();
        while (!base.getName().endsWith(JettySupport.SERVER)) {
            base = base.getSuperclass();
        }
        Object statistics = Reflect.sibling(server, JettySupport.SERVER, "org.eclipse.jetty.server.handler.StatisticsHandler")
                .getConstructor().newInstance();
        Object handler = call(server, "getHandler");
        if (Boolean.TRUE.equals(tryCall(server, "isStarted"))) {
            insertStarted(server, statistics, handler);
        } else {
            call(statistics, "setHandler", handler);
            call(server, "setHandler", statistics);
        }
        Object version = tryCall(server, "getVersion");
        return new JettyHandle(server, statistics, base.getName(), version == null ? "?" : version.toString());
    }

    /**
     * A server started before the agent was attached: Jetty refuses a new handler on a started server (9.4 to 11
     * HandlerWrapper.setHandler; 12 Handler.Wrapper unless dynamic), so the statistics handler is started on its
     * own around the running one (which stays the server's bean, stopped with it) and put in the server's field.
     */
    private static void insertStarted(Object server, Object statistics, Object handler) throws Exception {
        call(statistics, "setServer", server);
        call(statistics, "setHandler", handler);
        call(statistics, "start");
        Reflect.findField(server.getClass(), "_handler").set(server, statistics);
    }

    @Override
    public String describe() {
        return "jetty " + version + " on " + ports();
    }

    @Override
    public String ports() {
        StringBuilder sb = new StringBuilder();
        for (Object connector : connectors()) {
            Object port = tryCall(connector, "getLocalPort");
            if (port instanceof Integer && (Integer) port > 0) {
                sb.append(sb.length() == 0 ? ":" : ", :").append(port);
            }
        }
        return sb.length() == 0 ? "(no port)" : sb.toString();
    }

    @Override
    public void lameDuck() {
        Set<Object> configurations = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Object connector : connectors()) {
            Object factories = tryCall(connector, "getConnectionFactories");
            if (factories instanceof Collection) {
                for (Object factory : (Collection<?>) factories) {
                    Object configuration = tryCall(unwrap(factory), "getHttpConfiguration");
                    if (configuration != null) {
                        configurations.add(configuration);
                    }
                }
            }
        }
        try {
            customizer = new LameDuckCustomizer(server);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        for (Object configuration : configurations) {
            Reflect.require(configuration, "addCustomizer", customizer.proxy);
        }
        tellAsRamped();
        Servers.repeat("lameduck-jetty-tell", TELL_EVERY_MILLIS, () -> accepting, this::tellAsRamped);
    }

    /**
     * The frameworks wrap Jetty's connection factory to instrument it (Dropwizard's
     * {@code InstrumentedConnectionFactory} keeps it in its {@code connectionFactory} field), a few levels at most.
     */
    private static Object unwrap(Object factory) {
        Object f = factory;
        for (int depth = 0; depth < 3 && f != null && !Reflect.has(f, "getHttpConfiguration"); depth++) {
            Object inner = Reflect.field(f, "connectionFactory");
            f = inner != null ? inner : Reflect.field(f, "delegate");
        }
        return f;
    }

    /**
     * The customizer tells each connection as its next request arrives; this tells, once the ramp has passed them,
     * the connections that are busy or idle now: an HTTP/2 one gets its GOAWAY (one whose streams all began before
     * the lame duck would get none otherwise), an HTTP/1 one with a request in flight gets {@code Connection: close}
     * on that request's response, if it is not committed yet. Called again every {@link #TELL_EVERY_MILLIS} until
     * accepting stops, then once more (every connection is told then).
     */
    private synchronized void tellAsRamped() {
        Set<Object> previous = seen;
        seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Object endPoint : endPoints()) {
            Object connection = connection(endPoint);
            if (connection != null) {
                seen.add(connection);
            }
            // Not a connection this walk sees for the first time: it may not have parsed its first stream yet, and a
            // GOAWAY then closes it under that stream (Jetty 12.0 seen); its first request tells it (the customizer).
            if (connection != null && previous.contains(connection) && !told.contains(connection) && CloseRamp.tells(connection)) {
                told.add(connection);
                if (!goAway(connection) && customizer != null) { // null: the lame duck's own step failed
                    customizer.tellInFlight(connection);
                }
            }
        }
    }

    /**
     * A graceful GOAWAY if {@code connection} is HTTP/2 (true then): the client opens new connections for new
     * streams, while the streams in flight complete. {@code HTTP2Session.shutdown()} since 10.0; in 9.4,
     * {@code goAway(GoAwayFrame.GRACEFUL, Callback.NOOP)} does the same. Sending it twice sends one GOAWAY.
     */
    static boolean goAway(Object connection) {
        if (!connection.getClass().getName().contains("HTTP2")) {
            return false; // HTTP2ServerConnection (9.4-12.1): no lookup, no exception, for each HTTP/1 request
        }
        Object session = tryCall(connection, "getSession");
        if (session == null || !session.getClass().getName().contains("http2")) {
            return false;
        }
        if (Reflect.has(session, "shutdown")) {
            tryCall(session, "shutdown");
            return true;
        }
        try {
            Object graceful = Reflect.sibling(session, "org.eclipse.jetty.http2.HTTP2Session", "org.eclipse.jetty.http2.frames.GoAwayFrame")
                    .getField("GRACEFUL").get(null);
            Object noop = Reflect.sibling(session, "org.eclipse.jetty.http2.HTTP2Session", "org.eclipse.jetty.util.Callback")
                    .getField("NOOP").get(null);
            call(session, "goAway", graceful, noop);
        } catch (Exception e) {
            Log.debug("GOAWAY on %s: %s", connection, e);
        }
        return true;
    }

    /**
     * Closes each listening channel with nothing lost on the way. Closing a channel while an acceptor thread is
     * blocked in {@code accept()} is not synchronous: until that call returns, the kernel keeps the listener and
     * completes handshakes, and the acceptor, if interrupted ({@code interruptAcceptors()}), drops the connection
     * it took without closing it (ClosedByInterruptException before the JDK wraps the fd: ESTABLISHED, never
     * served, reset at exit; JDK 17 {@code ServerSocketChannelImpl}, Jetty 9.4-12.1). So instead the acceptors
     * are told to stop ({@code setAccepting(false)}: each waits before its next accept, 9.4+) and woken with a
     * connection of the agent's own; once all wait, the connections queued in the kernel are accepted here and
     * handed to Jetty ({@code ServerConnector.accepted}) like any other, and the channel is closed at once: what
     * could still be reset is what arrives in the microseconds between the last accept and the close.
     */
    @Override
    public void stopAccepting() {
        accepting = false;
        for (Object connector : connectors()) {
            tryCall(connector, "setAccepting", false);
            Object channel = tryCall(connector, "getTransport");
            List<SocketChannel> queued = channel instanceof ServerSocketChannel && parkAcceptors(connector, (ServerSocketChannel) channel)
                    ? Servers.takeQueued((ServerSocketChannel) channel) : Collections.<SocketChannel>emptyList();
            Servers.closeQuietly(channel);
            Servers.handOver(connector, queued, connection -> call(connector, "accepted", connection)); // as its acceptor does
        }
        tellAsRamped();
    }

    /**
     * Brings every acceptor thread of the connector ({@code AbstractConnector._acceptors}, 9.4-12.1) out of
     * {@code accept()} to its wait; true once none is left in {@code accept()}. With no acceptor threads (the
     * selector accepts), {@code setAccepting(false)} has closed its acceptor already.
     */
    private static boolean parkAcceptors(Object connector, ServerSocketChannel channel) {
        Object field = Reflect.field(connector, "_acceptors");
        if (!(field instanceof Thread[])) {
            return false;
        }
        Thread[] acceptors = (Thread[]) field;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PARK_MILLIS);
        try {
            InetSocketAddress address = Servers.reachable((InetSocketAddress) channel.getLocalAddress());
            for (int woken = 0; ; ) {
                int accepting = inAccept(acceptors);
                if (accepting == 0) {
                    return true;
                }
                if (System.nanoTime() - end > 0) {
                    Log.debug("%d acceptor(s) of %s still in accept() after %dms", accepting, connector, PARK_MILLIS);
                    return false;
                }
                if (woken < accepting) {
                    try (Socket wake = new Socket()) {
                        wake.connect(address, 1000);
                    }
                    woken++;
                }
                Thread.sleep(1);
            }
        } catch (Exception e) {
            Log.debug("parking the acceptors of %s: %s", connector, e);
            return false;
        }
    }

    /** How many of these threads may be in {@code accept()}: alive and not waiting. */
    private static int inAccept(Thread[] acceptors) {
        int n = 0;
        for (Thread t : acceptors) {
            if (t != null && t.isAlive() && t.getState() == Thread.State.RUNNABLE) {
                n++;
            }
        }
        return n;
    }

    /**
     * Sends every WebSocket a close frame 1001. Jetty 10-12.1 closes the connection once that frame is written (1001
     * is no "ordinary" status to it, {@code CloseStatus.isOrdinary}: no wait for the client's close); 9.4 half-closes
     * and closes at the client's close frame or EOF. Either way the end point closes: {@link #openWebSockets()}.
     */
    @Override
    public int sayGoingAway() {
        for (Object endPoint : endPoints()) {
            Object connection = connection(endPoint);
            if (connection != null && sayGoingAway(connection)) {
                goingAway.add(endPoint);
            }
        }
        return goingAway.size();
    }

    @Override
    public int openWebSockets() {
        int n = 0;
        for (Object endPoint : goingAway) {
            if (Boolean.TRUE.equals(tryCall(endPoint, "isOpen"))) {
                n++;
            }
        }
        return n;
    }

    /**
     * A WebSocket connection's session sent 1001; false if the connection is no WebSocket. 10-12.1: the
     * {@code coreSession} of {@code WebSocketConnection} ({@code websocket.core.internal} in 10 and 11,
     * {@code websocket.core} in 12), {@code close(int, String, Callback)}; 9.4: the {@code session} of
     * {@code AbstractWebSocketConnection}, {@code close(int, String)}. Both may be called from any thread.
     */
    private static boolean sayGoingAway(Object connection) {
        Object session = null;
        if (connection.getClass().getName().endsWith(".WebSocketConnection")) {
            session = Reflect.field(connection, "coreSession");
        } else if (Reflect.isA(connection.getClass(), "org.eclipse.jetty.websocket.common.io.AbstractWebSocketConnection")) {
            session = Reflect.field(connection, "session");
        }
        if (session == null) {
            return false;
        }
        try {
            Method close = Reflect.find(session.getClass(), "close", Servers.GOING_AWAY, Servers.GOING_AWAY_REASON, null);
            if (close != null) {
                close.invoke(session, Servers.GOING_AWAY, Servers.GOING_AWAY_REASON, close.getParameterTypes()[2].getField("NOOP").get(null));
            } else {
                call(session, "close", Servers.GOING_AWAY, Servers.GOING_AWAY_REASON);
            }
            return true;
        } catch (Exception e) {
            Log.debug("closing the WebSocket of %s: %s", connection, e);
            return false;
        }
    }

    /** Each connector's connected end points ({@code AbstractConnector.getConnectedEndPoints()}, 9.4+). */
    @Override
    public Collection<?> connections() {
        List<Object> out = new ArrayList<>();
        for (Object connector : connectors()) {
            Object endPoints = tryCall(connector, "getConnectedEndPoints");
            if (!(endPoints instanceof Collection)) {
                return null;
            }
            out.addAll((Collection<?>) endPoints);
        }
        return out;
    }

    @Override
    public int inFlight() {
        return ((Number) Reflect.require(statistics, "getRequestsActive")).intValue();
    }

    @Override
    public long completed() {
        Object total = Reflect.has(statistics, "getRequestTotal") ? tryCall(statistics, "getRequestTotal") : tryCall(statistics, "getRequests");
        return total == null ? 0 : ((Number) total).longValue() - inFlight();
    }

    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        for (Object endPoint : endPoints()) {
            String request = describeRequest(tryCall(connection(endPoint), "getHttpChannel"));
            if (request != null) {
                out.add(request);
            }
        }
        return out;
    }

    private List<Object> endPoints() {
        List<Object> out = new ArrayList<>();
        for (Object connector : connectors()) {
            Object endPoints = tryCall(connector, "getConnectedEndPoints");
            if (endPoints instanceof Collection) {
                out.addAll((Collection<?>) endPoints);
            }
        }
        return out;
    }

    /**
     * The HTTP connection of an end point: with TLS, the one on the decrypted side of its {@code SslConnection}
     * ({@code getDecryptedEndPoint()} 9.4-11, {@code getSslEndPoint()} 12.0-12.1), which ALPN replaces by the
     * negotiated protocol's connection.
     */
    private static Object connection(Object endPoint) {
        Object connection = tryCall(endPoint, "getConnection");
        if (connection != null && connection.getClass().getName().endsWith(".SslConnection")) {
            Object decrypted = tryCall(connection, "getSslEndPoint");
            connection = tryCall(decrypted != null ? decrypted : tryCall(connection, "getDecryptedEndPoint"), "getConnection");
        }
        return connection;
    }

    /** The channel's current request as METHOD /path (age), or null when it has none. */
    private static String describeRequest(Object channel) {
        Object state = tryCall(channel, "getState");
        if (Boolean.TRUE.equals(tryCall(state, "isIdle"))) {
            return null; // 9.4-11: the channel keeps its recycled Request between requests
        }
        Object request = tryCall(channel, "getRequest");
        Object method = tryCall(request, "getMethod");
        if (method == null) {
            return null;
        }
        Object path = tryCall(request, "getRequestURI"); // 9.4-11
        if (path == null) {
            path = tryCall(tryCall(request, "getHttpURI"), "getPath"); // 12
        }
        long age = -1;
        Object stamp = tryCall(request, "getTimeStamp"); // 9.4-11: wall clock ms
        Object nanos = tryCall(request, "getHeadersNanoTime"); // 12
        if (stamp instanceof Long && (Long) stamp > 0) {
            age = System.currentTimeMillis() - (Long) stamp;
        } else if (nanos instanceof Long) {
            age = (System.nanoTime() - (Long) nanos) / 1_000_000;
        }
        return method + " " + path + (age >= 0 ? " (" + age + " ms)" : "");
    }

    @Override
    public boolean isServing(StackTraceElement[] stack) {
        for (StackTraceElement frame : stack) {
            if (frame.getClassName().equals(serverClass) && frame.getMethodName().equals("handle")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void stop() {
        // The drain is over: no graceful wait inside Jetty (its graceful handlers answer 503), and stuck request
        // threads are interrupted soon rather than after the thread pool's default 5 s.
        tryCall(server, "setStopTimeout", 0L);
        tryCall(tryCall(server, "getThreadPool"), "setStopTimeout", 500L);
        Reflect.require(server, "stop");
    }

    private List<Object> connectors() {
        Object array = tryCall(server, "getConnectors");
        List<Object> out = new ArrayList<>();
        if (array instanceof Object[]) {
            Collections.addAll(out, (Object[]) array);
        }
        return out;
    }

}
