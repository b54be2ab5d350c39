package dev.lameduck.undertow;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Discovery;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Drives one Undertow server (2.2 to 2.4) through its own API.
 *
 * <ul>
 *   <li>In flight: before {@code start()} reads them, the root handlers (the server's and each listener's) are
 *       wrapped in a generated {@code HttpHandler} ({@link Counting}) that counts each exchange until its
 *       completion listener runs, so dispatched and async exchanges count until they end. Undertow's
 *       {@code GracefulShutdownHandler} is not used: once shut down it answers 503.</li>
 *   <li>Lame duck: new exchanges on connections told to go ({@link CloseRamp}) are made non-persistent as their
 *       response starts, keeping its framing, so Undertow ends the response with {@code Connection: close}. An HTTP/2 connection gets its GOAWAY (NO_ERROR) as soon as it
 *       has no exchange in flight: Undertow 2.x has no graceful GOAWAY that leaves open streams running
 *       ({@code Http2Channel.sendGoAway} closes the connection once the frame is written), so it is sent when
 *       nothing is left to lose (and no exchange from before the lame duck runs). Readiness paths are answered 503.</li>
 *   <li>Stop accepting: the accepting channels are closed; connections already open keep being served.</li>
 * </ul>
 */
final class UndertowHandle implements ServerHandle {
    private static final String HTTP2_CONNECTION = "io.undertow.server.protocol.http2.Http2ServerConnection";
    private static final int NO_ERROR = 0;
    /** Rounds of XNIO's accept (at most 128 connections each) before the close: more than Undertow's backlog of 1000. */
    private static final int ACCEPT_ROUNDS = 10;
    private static final long TELL_EVERY_MILLIS = 50;

    /** The Undertow object; null when attached to a running JVM, then {@link #attached} is what the agent found. */
    private final Object server;
    private final Listener attached;
    private final String version;
    /** The counting handler and listener, generated into Undertow's class loader: counters only, until the lame duck. */
    private final Counting counting;
    private final UndertowWebSockets webSockets = new UndertowWebSockets();
    /**
     * Each exchange in flight that the agent knows of, with its arrival ({@link System#nanoTime()}): those that
     * started in the lame duck, and those found running at its start (noted with that time, see {@link #older}).
     */
    private final Map<Object, Long> exchanges = new ConcurrentHashMap<>();
    /** The exchanges found running at the lame duck's start. */
    private final Set<Object> older = Collections.newSetFromMap(new ConcurrentHashMap<>());
    /** The exchanges whose response the agent has told to close its connection. */
    private final Set<Object> told = Collections.newSetFromMap(new ConcurrentHashMap<>());
    private volatile boolean accepting = true;
    private final Set<Object> lameDuckConnections = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private String attachedPorts = "(no port)";

    // Resolved once: used on every request of the lame duck.
    private final Method setPersistent;
    private final Method getConnection;
    private final Method getRequestPath;
    private final Method setStatusCode;
    private final Method endExchange;
    private final Method addResponseWrapper;
    /** The response wrapper of an exchange whose connection is told to close: one for all of them. */
    private final Object closing;

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
        setPersistent = exchange.getMethod("setPersistent", boolean.class);
        getConnection = exchange.getMethod("getConnection");
        getRequestPath = exchange.getMethod("getRequestPath");
        setStatusCode = exchange.getMethod("setStatusCode", int.class);
        endExchange = exchange.getMethod("endExchange");
        Class<?> conduitWrapper = Reflect.sibling(known, knownName, "io.undertow.server.ConduitWrapper");
        addResponseWrapper = exchange.getMethod("addResponseWrapper", conduitWrapper);
        closing = closingWrapper(conduitWrapper, exchange);
        counting = new Counting(handler);
        counting.upgraded.set(webSockets::upgraded);
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

    /** The counting handler in front of {@code next}. */
    private Object counting(Object next) throws Exception {
        return counting.wrap(next);
    }

    /**
     * In the lame duck, each new exchange: noted (to be named if it is still running at the drain's end), told to
     * close its connection if the ramp has passed that connection ({@link CloseRamp}), its connection noted; a
     * readiness path is answered 503 here. True when answered.
     */
    private boolean lameDuckExchange(Object exchange) {
        try {
            exchanges.put(exchange, System.nanoTime());
            Object h2 = http2Channel(exchange);
            Object connection = h2 != null ? h2 : getConnection.invoke(exchange);
            lameDuckConnections.add(connection);
            if (h2 == null && CloseRamp.tells(connection)) {
                told.add(exchange);
                addResponseWrapper.invoke(exchange, closing);
            }
            if (Readiness.refuses(getRequestPath.invoke(exchange))) {
                setStatusCode.invoke(exchange, 503);
                endExchange.invoke(exchange);
                return true;
            }
        } catch (Exception e) {
            Log.debug("lame duck on %s: %s", exchange, e);
        }
        return false;
    }

    /**
     * A {@code ConduitWrapper} that runs as the response's channel is made, before Undertow picks its framing
     * ({@code HttpTransferEncoding.createSinkConduit}, 2.2-2.4), with any length the response knows already set:
     * the exchange is made non-persistent (Undertow then adds {@code Connection: close}), and an HTTP/1.1 response
     * of unknown length gets an explicit {@code Transfer-Encoding: chunked}, which Undertow keeps chunked
     * whatever the persistence; without it a non-persistent response of unknown length is close-delimited.
     * Not for HTTP/1.0 (no chunked coding there), nor a 101 (an upgrade keeps its connection).
     */
    private Object closingWrapper(Class<?> conduitWrapper, Class<?> exchangeType) throws Exception {
        Method isHttp11 = exchangeType.getMethod("isHttp11");
        Method getStatusCode = exchangeType.getMethod("getStatusCode");
        Method getRequestMethod = exchangeType.getMethod("getRequestMethod");
        Method getResponseHeaders = exchangeType.getMethod("getResponseHeaders");
        Class<?> headerMap = getResponseHeaders.getReturnType();
        Object transferEncoding = Class.forName(conduitWrapper.getName().replace("server.ConduitWrapper", "util.Headers"), false, conduitWrapper.getClassLoader())
                .getField("TRANSFER_ENCODING").get(null);
        Method contains = headerMap.getMethod("contains", String.class);
        Method put = headerMap.getMethod("put", transferEncoding.getClass(), String.class);
        Method create = Class.forName(conduitWrapper.getName().replace("server.ConduitWrapper", "util.ConduitFactory"), false, conduitWrapper.getClassLoader())
                .getMethod("create");
        return Proxy.newProxyInstance(conduitWrapper.getClassLoader(), new Class<?>[] {conduitWrapper}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "wrap": // StreamSinkConduit wrap(ConduitFactory<StreamSinkConduit> factory, HttpServerExchange exchange)
                    Object exchange = args[1];
                    if ((Integer) getStatusCode.invoke(exchange) != 101) {
                        setPersistent.invoke(exchange, false);
                        Object headers = getResponseHeaders.invoke(exchange);
                        if ((Boolean) isHttp11.invoke(exchange) && !"HEAD".equals(String.valueOf(getRequestMethod.invoke(exchange)))
                                && !(Boolean) contains.invoke(headers, "Content-Length") && !(Boolean) contains.invoke(headers, "Transfer-Encoding")) {
                            put.invoke(headers, transferEncoding, "chunked");
                        }
                    }
                    return Reflect.forward(create, args[0], new Object[0]);
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    return "lameduck Connection: close";
            }
        });
    }

    /** In the lame duck, each completed exchange. */
    private void completed(Object exchange) {
        exchanges.remove(exchange);
        older.remove(exchange);
        told.remove(exchange);
        goAwayIfIdle(exchange);
    }

    /** Exchanges in flight that the agent does not know of (started before the lame duck, and not found at its start). */
    private int olderInFlight() {
        return (int) Math.max(0, counting.inFlight.sum() - exchanges.size());
    }

    /** After an exchange in the lame duck: its HTTP/2 connection is told to go away once nothing else runs on it. */
    private void goAwayIfIdle(Object exchange) {
        try {
            Object channel = http2Channel(exchange);
            if (channel == null || olderInFlight() > 0 || !CloseRamp.tells(channel)) {
                return; // one of them may run on this connection, and Undertow's GOAWAY closes it
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

    /**
     * From now on each exchange goes through the agent too. Exchanges already running are found once (the generated
     * handler keeps no list of them: a counter is all a request pays before the lame duck) and told, like those that
     * start in the lame duck, as the ramp passes their connection.
     */
    @Override
    public void lameDuck() {
        counting.completion.set(this::completed);
        counting.lameDuck.set(this::lameDuckExchange);
        long now = System.nanoTime();
        for (Object exchange : running()) {
            older.add(exchange);
            exchanges.putIfAbsent(exchange, now);
        }
        tellRunning();
        Servers.repeat("lameduck-undertow-tell", TELL_EVERY_MILLIS, () -> accepting, this::tellRunning);
    }

    /**
     * The running exchanges of HTTP/1 connections the ramp has passed, not told yet: their response, if it has not
     * started, will close the connection (the closing wrapper, added from this thread: the exchange's own thread is
     * inside the application then, past the point where handlers add their wrappers).
     */
    private void tellRunning() {
        for (Object exchange : exchanges.keySet()) {
            try {
                if (!told.contains(exchange) && http2Channel(exchange) == null && CloseRamp.tells(getConnection.invoke(exchange))
                        && Boolean.FALSE.equals(tryCall(exchange, "isResponseStarted"))) {
                    told.add(exchange);
                    addResponseWrapper.invoke(exchange, closing);
                }
            } catch (Exception e) {
                Log.debug("telling %s: %s", exchange, e);
            }
        }
    }

    /**
     * The exchanges running now. The generated handler only counts them, so they are looked for once, here, from
     * the XNIO worker: its I/O threads' selectors lead to the connections and to the exchange each one serves.
     */
    private List<Object> running() {
        List<Object> found = new ArrayList<>();
        Object worker = tryCall(server != null ? server : attached.channel, "getWorker");
        if (worker == null || counting.inFlight.sum() == 0) {
            return found;
        }
        for (Object exchange : new Discovery(null).reachableFrom(worker, "io.undertow.server.HttpServerExchange", 100_000)) {
            if (Boolean.FALSE.equals(tryCall(exchange, "isComplete"))) {
                found.add(exchange);
            }
        }
        return found;
    }

    @Override
    public void stopAccepting() {
        accepting = false;
        for (Object channel : listeningChannels()) {
            if (!acceptQueuedThenClose(channel)) {
                Servers.closeQuietly(channel);
            }
        }
        tellRunning(); // the lame duck is over: every running exchange is told
    }

    @Override
    public int sayGoingAway() {
        return webSockets.sayGoingAway();
    }

    @Override
    public int openWebSockets() {
        return webSockets.open();
    }

    /** XNIO's accepting channels: {@code Undertow.channels}, or the one found at the attach. */
    private List<Object> listeningChannels() {
        Object channels = server != null ? Reflect.field(server, "channels") : Collections.singletonList(attached.channel);
        return channels instanceof Collection ? new ArrayList<>((Collection<?>) channels) : Collections.emptyList();
    }

    /**
     * Accepts the connections the kernel has queued, then closes the listening channel at once: what could still
     * be reset is what arrives in the microseconds between the last accept and the close (a plain close resets
     * every connection still in the kernel's accept queue). Two things of XNIO 3.8 (Undertow 2.2-2.4) matter:
     * <ul>
     *   <li>The listening channel is registered with the selector of every I/O thread ({@code NioTcpServer.handles},
     *       one per thread), and the JDK closes a registered channel only once every selector has dropped its key,
     *       at its next select: until then the kernel keeps listening and queueing, to reset all at that close.
     *       So each I/O thread first drops its key itself (cancel, then {@code selectNow()} on its own selector,
     *       between its own selects; keys found ready stay in its selected set for its loop).</li>
     *   <li>{@code QueuedNioTcpServer2.handleReady()}, what a selector runs when the channel is acceptable, accepts
     *       (only on an I/O thread) up to 128 connections and queues each for its I/O thread, where Undertow's open
     *       listener takes it, also after the close.</li>
     * </ul>
     * False when the channel is not such a one, or it did not finish in time; then it is only closed.
     */
    private static boolean acceptQueuedThenClose(Object listening) {
        // An HTTPS listener: Undertow's UndertowAcceptingSslChannel around XNIO's channel (2.2-2.4), whose accept
        // listener takes each queued connection through it (TLS added); closing it closes that channel.
        Object tls = Reflect.field(listening, "tcpServer");
        Object channel = tls != null ? tls : listening;
        Method handleReady = Reflect.find(channel.getClass(), "handleReady");
        Object handles = Reflect.field(Reflect.field(channel, "realServer"), "handles");
        Object ioThread = tryCall(channel, "getIoThread");
        if (handleReady == null || !(handles instanceof Object[]) || !(ioThread instanceof Executor)) {
            return false;
        }
        Object[] perThread = (Object[]) handles;
        CountDownLatch dropped = new CountDownLatch(perThread.length);
        for (Object handle : perThread) {
            Object thread = tryCall(handle, "getWorkerThread");
            Object key = Reflect.field(handle, "selectionKey");
            if (!(thread instanceof Executor) || !(key instanceof SelectionKey)) {
                return false;
            }
            ((Executor) thread).execute(() -> {
                ((SelectionKey) key).cancel();
                selectNowOnThisThread();
                dropped.countDown();
            });
        }
        CountDownLatch closed = new CountDownLatch(1);
        if (!await(dropped)) {
            return false;
        }
        ((Executor) ioThread).execute(() -> {
            try {
                for (int i = 0; i < ACCEPT_ROUNDS; i++) {
                    handleReady.invoke(channel);
                }
            } catch (Exception e) {
                Log.debug("accepting the queued connections of %s: %s", channel, e);
            } finally {
                Servers.closeQuietly(listening);
                closed.countDown();
            }
        });
        return await(closed);
    }

    /** On an XNIO I/O thread: its own selector drops its cancelled keys now ({@code WorkerThread.selector}). */
    private static void selectNowOnThisThread() {
        Object selector = Reflect.field(Thread.currentThread(), "selector");
        if (selector instanceof Selector) {
            try {
                ((Selector) selector).selectNow();
            } catch (Exception e) {
                Log.debug("dropping the listener's key: %s", e);
            }
        }
    }

    private static boolean await(CountDownLatch latch) {
        try {
            return latch.await(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
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
        return (int) counting.inFlight.sum();
    }

    @Override
    public long completed() {
        return counting.completed.sum();
    }

    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<Object, Long> e : exchanges.entrySet()) {
            long age = (System.nanoTime() - e.getValue()) / 1_000_000;
            // Found running at the lame duck's start: its own start is not known, only that it was earlier.
            String since = (older.contains(e.getKey()) ? ">" : "") + age + " ms";
            out.add(tryCall(e.getKey(), "getRequestMethod") + " " + tryCall(e.getKey(), "getRequestPath") + " (" + since + ")");
        }
        int older = olderInFlight();
        if (older > 0) {
            out.add(older + " more started before the signal (not found from the worker)");
        }
        return out;
    }

    @Override
    public boolean isServing(StackTraceElement[] stack) {
        return Servers.onStack(stack, "io.undertow.server.Connectors", "executeRootHandler");
    }

    @Override
    public void stop() {
        if (inFlight() == 0 && server != null) {
            Reflect.require(server, "stop");
            return;
        }
        // Undertow.stop() waits without a bound for the worker's task threads, and one of them may be stuck,
        // or be the request thread waiting in System.exit for this very sequence: close the listeners and
        // connections, interrupt the tasks, and wait only briefly.
        for (Object channel : listeningChannels()) {
            Servers.closeQuietly(channel);
        }
        Object worker = tryCall(server != null ? server : attached.channel, "getWorker");
        tryCall(worker, "shutdownNow");
        tryCall(worker, "awaitTermination", 500L, TimeUnit.MILLISECONDS);
    }


}
