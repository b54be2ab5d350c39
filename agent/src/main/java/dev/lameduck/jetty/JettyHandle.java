package dev.lameduck.jetty;

import static dev.lameduck.server.Reflect.call;
import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Drives one Jetty server (9.4 to 12.1) through its own API.
 *
 * <ul>
 *   <li>In flight: a {@code StatisticsHandler} put around the server's handler as it starts counts requests
 *       from arrival to completion, async ones included (9.4-11: servlet async; 12: the handler's callback).
 *       Its own graceful shutdown, which answers 503, is never used.</li>
 *   <li>Lame duck: an {@code HttpConfiguration.Customizer} added to every connector adds
 *       {@code Connection: close} to each response, which Jetty's {@code HttpGenerator} honours by closing the
 *       connection after it (9.4-12). The customizer's signature changed in 12.0.</li>
 *   <li>Stop accepting: the acceptors are told to stop and the listening channel is closed. Not
 *       {@code Connector.shutdown()}: since 10.0 it also shortens the idle timeout of open connections, which
 *       would close keep-alive connections under clients about to use them.</li>
 * </ul>
 */
final class JettyHandle implements ServerHandle {
    private final Object server;
    private final Object statistics;
    private final String serverClass;
    private final String version;

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
        for (Object configuration : configurations) {
            Reflect.require(configuration, "addCustomizer", connectionClose());
        }
        closeOpenConnectionsAfterResponse();
    }

    /**
     * The connection factory that holds the HTTP configuration: frameworks wrap Jetty's to instrument it (Dropwizard's
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
     * The customizer reaches requests that arrive from now on; connections that are open now, idle or in the
     * middle of a request, are told directly: their HTTP/1 generator ends the next uncommitted response with
     * {@code Connection: close} ({@code HttpConnection.getGenerator()}, 9.4-12).
     */
    private void closeOpenConnectionsAfterResponse() {
        for (Object endPoint : endPoints()) {
            Object connection = tryCall(endPoint, "getConnection");
            Object generator = tryCall(connection, "getGenerator");
            if (Boolean.FALSE.equals(tryCall(generator, "isCommitted"))) {
                tryCall(generator, "setPersistent", false);
            }
            goAway(connection);
        }
    }

    /**
     * A graceful GOAWAY on an HTTP/2 connection (a no-op on others, and when sent already): the client opens
     * new connections for new streams, while the streams in flight complete. {@code HTTP2Session.shutdown()}
     * since 10.0; in 9.4, {@code goAway(GoAwayFrame.GRACEFUL, Callback.NOOP)} does the same.
     */
    private static void goAway(Object connection) {
        Object session = tryCall(connection, "getSession");
        if (session == null || !session.getClass().getName().contains("http2")) {
            return;
        }
        if (Reflect.has(session, "shutdown")) {
            tryCall(session, "shutdown");
            return;
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
    }

    /** A {@code HttpConfiguration.Customizer}, made in the server's class loader, that adds Connection: close. */
    private Object connectionClose() {
        try {
            Class<?> customizer = Reflect.sibling(server, JettySupport.SERVER, "org.eclipse.jetty.server.HttpConfiguration$Customizer");
            return Proxy.newProxyInstance(customizer.getClassLoader(), new Class<?>[] {customizer}, (proxy, method, args) -> {
                switch (method.getName()) {
                    case "customize":
                        // HTTP/2 responses drop the Connection header (HpackEncoder); their connection gets a
                        // GOAWAY instead, also when it was opened during the lame duck.
                        if (args.length == 3) {
                            // 9.4-11: customize(Connector, HttpConfiguration, Request)
                            call(call(args[2], "getResponse"), "setHeader", "Connection", "close");
                            goAway(tryCall(tryCall(args[2], "getHttpChannel"), "getConnection"));
                            return null;
                        }
                        // 12.0+: Request customize(Request, HttpFields.Mutable responseHeaders)
                        call(args[1], "put", "Connection", "close");
                        goAway(tryCall(tryCall(args[0], "getConnectionMetaData"), "getConnection"));
                        return args[0];
                    case "hashCode":
                        return System.identityHashCode(proxy);
                    case "equals":
                        return proxy == args[0];
                    default:
                        return "lameduck Connection: close";
                }
            });
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stopAccepting() {
        for (Object connector : connectors()) {
            // Acceptors wait instead of spinning on a closed channel (setAccepting: 9.4+), and an acceptor
            // blocked in accept() ends quietly when interrupted: ClosedByInterruptException, not a WARN.
            tryCall(connector, "setAccepting", false);
            tryCall(connector, "interruptAcceptors");
            Object port = tryCall(connector, "getLocalPort");
            Servers.closeQuietly(tryCall(connector, "getTransport"));
            if (port instanceof Integer && (Integer) port > 0) {
                Servers.awaitRefused(String.valueOf(tryCall(connector, "getHost")), (Integer) port);
            }
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
            String request = describeRequest(tryCall(tryCall(endPoint, "getConnection"), "getHttpChannel"));
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
