package dev.lameduck.undertow;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives one Undertow server (2.2 to 2.4) through its own API.
 *
 * <ul>
 *   <li>In flight: before {@code start()} reads them, the root handlers (the server's and each listener's) are
 *       wrapped in an {@code HttpHandler} that notes each exchange until its completion listener runs, so
 *       dispatched and async exchanges count until they end. Undertow's {@code GracefulShutdownHandler} is not
 *       used: once shut down it answers 503.</li>
 *   <li>Lame duck: exchanges are made non-persistent ({@code setPersistent(false)}), so Undertow ends the
 *       response with {@code Connection: close}. An HTTP/2 connection gets its GOAWAY (NO_ERROR) as soon as it
 *       has no exchange in flight: Undertow 2.x has no graceful GOAWAY that leaves open streams running
 *       ({@code Http2Channel.sendGoAway} closes the connection once the frame is written), so it is sent when
 *       nothing is left to lose. Readiness paths are answered 503 in the wrapper.</li>
 *   <li>Stop accepting: the accepting channels are closed; connections already open keep being served.</li>
 * </ul>
 */
final class UndertowHandle implements ServerHandle {
    private static final String HTTP2_CONNECTION = "io.undertow.server.protocol.http2.Http2ServerConnection";
    private static final int NO_ERROR = 0;

    /** The Undertow object; null when attached to a running JVM, then {@link #attached} is what the agent found. */
    private final Object server;
    private final Listener attached;
    private final String version;
    /** Each exchange in flight, with its arrival ({@link System#nanoTime()}). */
    private final Map<Object, Long> exchanges = new ConcurrentHashMap<>();
    private final AtomicLong completed = new AtomicLong();
    private final Set<Object> lameDuckConnections = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private volatile boolean lameDuck;
    private String attachedPorts = "(no port)";

    // Resolved once: the wrapper runs on every request.
    private final Method handleRequest;
    private final Method addCompletionListener;
    private final Method setPersistent;
    private final Method isResponseStarted;
    private final Method getConnection;
    private final Method getRequestPath;
    private final Method setStatusCode;
    private final Method endExchange;
    private final Method proceed;
    private final Object completionListener;

    /** One listener of a server started before the agent was attached: XNIO's accepting channel and Undertow's open listener. */
    static final class Listener {
        final Object channel;
        final Object openListener;

        Listener(Object channel, Object openListener) {
            this.channel = channel;
            this.openListener = openListener;
        }
    }

    /** {@code known} is any Undertow object, {@code knownName} its class's unrelocated name. */
    private UndertowHandle(Object server, Listener attached, Object known, String knownName) throws Exception {
        this.server = server;
        this.attached = attached;
        this.version = String.valueOf(Reflect.sibling(known, knownName, "io.undertow.Version")
                .getMethod("getVersionString").invoke(null));
        Class<?> handler = Reflect.sibling(known, knownName, "io.undertow.server.HttpHandler");
        Class<?> exchange = Reflect.sibling(known, knownName, "io.undertow.server.HttpServerExchange");
        Class<?> listener = Reflect.sibling(known, knownName, "io.undertow.server.ExchangeCompletionListener");
        Class<?> nextListener = Reflect.sibling(known, knownName, "io.undertow.server.ExchangeCompletionListener$NextListener");
        handleRequest = handler.getMethod("handleRequest", exchange);
        addCompletionListener = exchange.getMethod("addExchangeCompleteListener", listener);
        setPersistent = exchange.getMethod("setPersistent", boolean.class);
        isResponseStarted = exchange.getMethod("isResponseStarted");
        getConnection = exchange.getMethod("getConnection");
        getRequestPath = exchange.getMethod("getRequestPath");
        setStatusCode = exchange.getMethod("setStatusCode", int.class);
        endExchange = exchange.getMethod("endExchange");
        proceed = nextListener.getMethod("proceed");
        completionListener = Proxy.newProxyInstance(listener.getClassLoader(), new Class<?>[] {listener}, (proxy, method, args) -> {
            if (method.getName().equals("exchangeEvent")) {
                exchanges.remove(args[0]);
                completed.incrementAndGet();
                if (lameDuck) {
                    goAwayIfIdle(args[0]);
                }
                proceed.invoke(args[1]);
                return null;
            }
            return objectMethod(proxy, method, args);
        });
    }

    /** Before {@code start()}: wraps the root handler of the server and of each listener that has its own. */
    static UndertowHandle prepare(Object server) throws Exception {
        UndertowHandle h = new UndertowHandle(server, null, server, UndertowSupport.UNDERTOW);
        h.wrapField(server, "rootHandler");
        Object listeners = Reflect.field(server, "listeners");
        if (listeners instanceof Collection) {
            for (Object listener : (Collection<?>) listeners) {
                h.wrapField(listener, "rootHandler");
            }
        }
        return h;
    }

    /**
     * Attached to a running JVM: the open listener's root handler is wrapped (inside the h2c upgrade handler, whose
     * next handler serves the upgraded connections' streams too).
     */
    static UndertowHandle attach(Listener listener) throws Exception {
        String name = listener.openListener.getClass().getName();
        UndertowHandle h = new UndertowHandle(null, listener, listener.openListener, name.substring(name.indexOf("io.undertow.")));
        Object root = Reflect.field(listener.openListener, "rootHandler");
        if (root != null && root.getClass().getName().endsWith(".Http2UpgradeHandler")) {
            h.wrapField(root, "next");
        } else {
            h.wrapField(listener.openListener, "rootHandler");
        }
        h.attachedPorts = ":" + ((InetSocketAddress) Reflect.call(listener.channel, "getLocalAddress")).getPort();
        return h;
    }

    private void wrapField(Object owner, String name) throws Exception {
        Field f = Reflect.findField(owner.getClass(), name);
        Object next = f.get(owner);
        if (next != null) {
            f.set(owner, counting(next));
        }
    }

    /** An HttpHandler, in Undertow's class loader, that notes the exchange and passes it on. */
    private Object counting(Object next) {
        Class<?> handler = handleRequest.getDeclaringClass();
        return Proxy.newProxyInstance(handler.getClassLoader(), new Class<?>[] {handler}, (proxy, method, args) -> {
            if (!method.getName().equals("handleRequest")) {
                return objectMethod(proxy, method, args);
            }
            Object exchange = args[0];
            if (exchanges.putIfAbsent(exchange, System.nanoTime()) == null) {
                addCompletionListener.invoke(exchange, completionListener);
            }
            if (lameDuck) {
                setPersistent.invoke(exchange, false);
                Object h2 = http2Channel(exchange);
                lameDuckConnections.add(h2 != null ? h2 : getConnection.invoke(exchange));
                if (Readiness.refuses(getRequestPath.invoke(exchange))) {
                    setStatusCode.invoke(exchange, 503);
                    endExchange.invoke(exchange);
                    return null;
                }
            }
            try {
                return handleRequest.invoke(next, exchange);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    /** After an exchange in the lame duck: its HTTP/2 connection is told to go away once nothing else runs on it. */
    private void goAwayIfIdle(Object exchange) {
        try {
            Object channel = http2Channel(exchange);
            if (channel == null) {
                return;
            }
            for (Object other : exchanges.keySet()) {
                if (http2Channel(other) == channel) {
                    return; // the last one to complete sends it
                }
            }
            Reflect.call(channel, "sendGoAway", NO_ERROR);
        } catch (Exception e) {
            Log.debug("GOAWAY after %s: %s", exchange, e);
        }
    }

    /** The exchange's HTTP/2 connection ({@code Http2Channel}), or null; each stream has its own Http2ServerConnection. */
    private Object http2Channel(Object exchange) throws Exception {
        Object connection = getConnection.invoke(exchange);
        return connection != null && connection.getClass().getName().endsWith(HTTP2_CONNECTION) ? Reflect.field(connection, "channel") : null;
    }

    private static Object objectMethod(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            default:
                return "lameduck request counter";
        }
    }

    @Override
    public String describe() {
        return "undertow " + version + " on " + ports();
    }

    @Override
    public String ports() {
        if (server == null) {
            return attachedPorts;
        }
        StringBuilder sb = new StringBuilder();
        Object infos = tryCall(server, "getListenerInfo");
        if (infos instanceof Collection) {
            for (Object info : (Collection<?>) infos) {
                Object address = tryCall(info, "getAddress");
                if (address instanceof InetSocketAddress) {
                    sb.append(sb.length() == 0 ? ":" : ", :").append(((InetSocketAddress) address).getPort());
                }
            }
        }
        return sb.length() == 0 ? "(no port)" : sb.toString();
    }

    @Override
    public void lameDuck() {
        lameDuck = true;
        for (Object exchange : exchanges.keySet()) {
            try {
                if (!(Boolean) isResponseStarted.invoke(exchange)) {
                    setPersistent.invoke(exchange, false);
                }
            } catch (Exception e) {
                Log.debug("lame duck on %s: %s", exchange, e);
            }
        }
    }

    @Override
    public void stopAccepting() {
        Object channels = server != null ? Reflect.field(server, "channels") : Collections.singletonList(attached.channel);
        if (channels instanceof Collection) {
            for (Object channel : (Collection<?>) channels) {
                Servers.closeQuietly(channel);
            }
        }
    }

    /**
     * Undertow keeps no registry of its connections: those that carried a request in the lame duck (an HTTP/2
     * connection by its channel, since each stream has a connection object of its own), seen by the wrapper.
     */
    @Override
    public Collection<?> connections() {
        return new ArrayList<>(lameDuckConnections);
    }

    @Override
    public int inFlight() {
        return exchanges.size();
    }

    @Override
    public long completed() {
        return completed.get();
    }

    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<Object, Long> e : exchanges.entrySet()) {
            long age = (System.nanoTime() - e.getValue()) / 1_000_000;
            out.add(tryCall(e.getKey(), "getRequestMethod") + " " + tryCall(e.getKey(), "getRequestPath") + " (" + age + " ms)");
        }
        return out;
    }

    @Override
    public boolean isServing(StackTraceElement[] stack) {
        return Servers.onStack(stack, "io.undertow.server.Connectors", "executeRootHandler");
    }

    @Override
    public void stop() {
        if (exchanges.isEmpty() && server != null) {
            Reflect.require(server, "stop");
            return;
        }
        // Undertow.stop() waits without a bound for the worker's task threads, and one of them may be stuck,
        // or be the request thread waiting in System.exit for this very sequence: close the listeners and
        // connections, interrupt the tasks, and wait only briefly.
        stopAccepting();
        Object worker = tryCall(server != null ? server : attached.channel, "getWorker");
        tryCall(worker, "shutdownNow");
        tryCall(worker, "awaitTermination", 500L, java.util.concurrent.TimeUnit.MILLISECONDS);
    }


}
