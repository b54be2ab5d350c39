package dev.lameduck.tomcat;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Field;
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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives one Tomcat connector (9, 10.1, 11) through its own API.
 *
 * <ul>
 *   <li>Binding: {@code bindOnInit=false} is set before the connector initialises; only then can
 *       {@code closeServerSocketGraceful()} (9.0.x, 10.1, 11) really close the listening socket.</li>
 *   <li>Lame duck: each connection is told to go once the ramp has passed it ({@link ToldConnections}): an
 *       HTTP/1.1 one's next response carries {@code Connection: close}, an HTTP/2 one gets a graceful GOAWAY; once
 *       the ramp is over, {@code maxKeepAliveRequests=1}, which {@code Http11Processor} reads for every request,
 *       so every response from then on closes its connection.</li>
 *   <li>Stop accepting: the listening socket is closed with the acceptor parked, so that no connection is
 *       destroyed on the way; open connections keep being served. Never
 *       {@code pause()}: a paused connector answers 503 on open keep-alive connections.</li>
 *   <li>In flight: the protocol's {@code RequestGroupInfo} holds a {@code RequestInfo} per processor, whose stage
 *       says whether a request is being handled (async ones stay in the service stage until they complete).</li>
 * </ul>
 */
final class TomcatHandle implements ServerHandle {
    // org.apache.coyote.Constants: STAGE_PARSE .. STAGE_ENDOUTPUT are a request in progress.
    private static final int FIRST_BUSY_STAGE = 1;
    private static final int LAST_BUSY_STAGE = 5;

    private final Object connector;
    private final String version;
    private volatile String lastPort = "(no port)";
    private volatile boolean accepting = true;
    private volatile ToldConnections toldConnections;
    /** Each HTTP/2 connection's handler, by its socket wrapper ({@link #http2Streams()}). */
    private final Map<Object, Object> http2 = new ConcurrentHashMap<>();
    /** The WebSocket sessions sent Going Away. */
    private volatile List<Object> webSockets = Collections.emptyList();

    private TomcatHandle(Object connector, String version) {
        this.connector = connector;
        this.version = version;
    }

    static TomcatHandle prepare(Object connector) throws Exception {
        Reflect.require(connector, "setProperty", "bindOnInit", "false");
        Object number = Reflect.sibling(connector, TomcatSupport.CONNECTOR, "org.apache.catalina.util.ServerInfo")
                .getMethod("getServerNumber").invoke(null);
        return new TomcatHandle(connector, String.valueOf(number));
    }

    @Override
    public String describe() {
        return "tomcat " + version + " on " + ports();
    }

    @Override
    public String ports() {
        Object port = tryCall(connector, "getLocalPort");
        if (port instanceof Integer && (Integer) port > 0) {
            lastPort = ":" + port; // gone once the socket is closed, still the one to name in the log
        }
        return lastPort;
    }

    /** Connections are told to go as the ramp passes them ({@link ToldConnections}), until accepting stops. */
    @Override
    public void lameDuck() {
        ToldConnections connections = new ToldConnections(connector, protocol(), this::requestInfos);
        toldConnections = connections;
        connections.start(() -> accepting);
    }

    @Override
    public void stopAccepting() {
        accepting = false;
        // The lame duck is over (CloseRamp.everyone()): every connection is told, every response closes.
        try {
            ToldConnections connections = toldConnections != null ? toldConnections : new ToldConnections(connector, protocol(), this::requestInfos);
            connections.tell();
        } catch (RuntimeException e) {
            Log.debug("%s: telling every connection: %s", describe(), e); // closing the listener matters more
        }
        Object endpoint = tryCall(protocol(), "getEndpoint");
        boolean boundOnStart = endpoint != null && "BOUND_ON_START".equals(String.valueOf(Reflect.field(endpoint, "bindState")));
        try {
            // Also for a connector bound on init (one that started before the agent was attached): the endpoint is
            // then marked as Tomcat marks a socket closed at stop, and its stop() unbinds it instead of destroy().
            closeWithTheAcceptorParked(endpoint);
        } catch (Exception e) {
            if (!boundOnStart) {
                Log.warn("%s was bound on init (bindOnInit=true, or started before the agent was attached) and its listening socket "
                        + "cannot be closed early (%s); new connections wait in the backlog until the stop", describe(), e);
                return;
            }
            Log.debug("%s: closing the listener with the acceptor parked failed (%s); using closeServerSocketGraceful()", describe(), e);
            Reflect.require(protocol(), "closeServerSocketGraceful");
        }
        Reflect.require(tryCall(protocol(), "getHandler"), "pause");
    }

    /**
     * Closes the listening socket with no connection lost on the way. Tomcat's own
     * {@code closeServerSocketGraceful()} first tells the acceptor to stop and then wakes it with a connection of
     * its own: the acceptor destroys whatever it accepts next, often a client's connection, and the socket's close
     * resets those queued meanwhile (under load: a failed request or two per shutdown). Here the acceptor is
     * parked before its next accept instead, at the NIO endpoint's connection-limit latch with its limit set to 0
     * ({@code LimitLatch}, 7.0+; the acceptor waits there before each accept): the connection that wakes it, and
     * any queued before it, are served as usual. Connections the kernel queued after that are accepted here and
     * handed to Tomcat as its acceptor would ({@link #acceptQueued}); then the socket is closed at once, so that what
     * could still be reset is what arrives in the microseconds between the last accept and the close. Tomcat's
     * stop releases the latch after pausing the endpoint, and the parked acceptor then ends without accepting again.
     */
    private static void closeWithTheAcceptorParked(Object endpoint) throws Exception {
        Object acceptor = Reflect.field(endpoint, "acceptor");
        Object latch = Reflect.field(endpoint, "connectionLimitLatch"); // null with maxConnections=-1
        Method setLimit = latch == null ? null : Reflect.find(latch.getClass(), "setLimit", 0L);
        Thread acceptorThread = acceptor == null ? null : thread(String.valueOf(Reflect.call(acceptor, "getThreadName")));
        Field bindState = Reflect.findField(endpoint.getClass(), "bindState");
        Object closed = constant(bindState, "SOCKET_CLOSED_ON_STOP");
        Method doClose = Reflect.find(endpoint.getClass(), "doCloseServerSocket");
        Field acceptorState = acceptor == null ? null : Reflect.findField(acceptor.getClass(), "state");
        Object paused = acceptorState == null ? null : constant(acceptorState, "PAUSED");
        InetSocketAddress listener = Servers.reachable((InetSocketAddress) Reflect.call(endpoint, "getLocalAddress"));
        if (!endpoint.getClass().getName().endsWith(".NioEndpoint") || setLimit == null || acceptorThread == null || doClose == null) {
            throw new NoSuchMethodException("an NIO endpoint with a connection-limit latch and an acceptor thread");
        }

        setLimit.invoke(latch, 0L);
        try (Socket wake = new Socket()) { // the acceptor waits in accept(): one more connection brings it to the latch
            wake.setSoLinger(true, 0);
            wake.connect(listener, 1000);
        }
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (acceptorThread.getState() != Thread.State.WAITING && System.nanoTime() < giveUp) {
            Thread.yield();
        }
        Reflect.call(acceptor, "stopMillis", -1); // only sets its stop flag (9.0.x recent, 10.1, 11)
        // Not RUNNING: the endpoint's pause() at the stop would try to wake it through the closed socket, and warn.
        acceptorState.set(acceptor, paused);
        bindState.set(endpoint, closed); // as Tomcat does before closing: the endpoint's stop() then knows
        List<SocketChannel> queued = acceptorThread.getState() == Thread.State.WAITING
                ? Servers.takeQueued((ServerSocketChannel) Reflect.field(endpoint, "serverSock")) : Collections.<SocketChannel>emptyList();
        doClose.invoke(endpoint);
        serve(endpoint, latch, queued);
    }

    /**
     * The connections taken from the kernel's queue at the close, handed to the endpoint as {@code Acceptor.run} does
     * (9.0.x, 10.1, 11): counted in the latch (its {@code count}, as {@code countUpOrAwaitConnection} would, so that
     * the count stays right when they close), then {@code setSocketOptions}, or {@code closeSocket} when that refuses one.
     */
    private static void serve(Object endpoint, Object latch, List<SocketChannel> queued) {
        AtomicLong count = (AtomicLong) Reflect.field(latch, "count");
        Servers.handOver(endpoint, queued, connection -> {
            count.incrementAndGet();
            if (!Boolean.TRUE.equals(Reflect.call(endpoint, "setSocketOptions", connection))) {
                Reflect.call(endpoint, "closeSocket", connection);
            }
        });
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object constant(Field enumField, String name) {
        return Enum.valueOf((Class<Enum>) enumField.getType(), name);
    }

    private static Thread thread(String name) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(name)) {
                return t;
            }
        }
        return null;
    }

    @Override
    public int sayGoingAway() {
        List<Object> sessions = TomcatWebSockets.of(connector, tryCall(protocol(), "getEndpoint"));
        webSockets = sessions;
        TomcatWebSockets.sayGoingAway(sessions);
        return sessions.size();
    }

    @Override
    public int openWebSockets() {
        return TomcatWebSockets.open(webSockets);
    }

    /** The endpoint's socket wrappers ({@code AbstractEndpoint.getConnections()}, 9.0+). */
    @Override
    public Collection<?> connections() {
        Object connections = tryCall(tryCall(protocol(), "getEndpoint"), "getConnections");
        return connections instanceof Collection ? new ArrayList<>((Collection<?>) connections) : null;
    }

    @Override
    public int inFlight() {
        return inProgress().size() + http2Streams();
    }

    /**
     * The HTTP/2 streams in progress: Tomcat registers no {@code RequestInfo} of a stream while it runs (9.0-11:
     * {@code StreamProcessor} only takes it out of {@code Http2Protocol}'s group at its end), so they are counted by
     * each connection's {@code Http2UpgradeHandler.activeRemoteStreamCount} (up when a client's stream opens, down
     * when it closes). The handler is remembered per connection: while a thread holds the connection's processor,
     * {@code getCurrentProcessor()} is null.
     */
    private int http2Streams() {
        Object connections = tryCall(tryCall(protocol(), "getEndpoint"), "getConnections");
        if (!(connections instanceof Collection)) {
            return 0;
        }
        int n = 0;
        Set<Object> open = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Object wrapper : new ArrayList<>((Collection<?>) connections)) {
            open.add(wrapper);
            Object processor = tryCall(wrapper, "getCurrentProcessor");
            if (processor != null && processor.getClass().getName().endsWith(".UpgradeProcessorInternal")) { // no field lookups for HTTP/1.1
                Object handler = Reflect.field(processor, "internalHttpUpgradeHandler");
                if (Reflect.field(handler, "activeRemoteStreamCount") instanceof AtomicInteger) {
                    http2.put(wrapper, handler);
                }
            }
            Object count = Reflect.field(http2.get(wrapper), "activeRemoteStreamCount");
            if (count instanceof AtomicInteger) {
                n += ((AtomicInteger) count).get();
            }
        }
        http2.keySet().retainAll(open);
        return n;
    }

    @Override
    public long completed() {
        long sum = 0;
        for (Object group : requestGroups()) {
            Object count = tryCall(group, "getRequestCount");
            sum += count instanceof Number ? ((Number) count).longValue() : 0;
        }
        return sum;
    }

    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        for (Object info : inProgress()) {
            out.add(tryCall(info, "getMethod") + " " + tryCall(info, "getCurrentUri") + " (" + tryCall(info, "getRequestProcessingTime") + " ms)");
        }
        int streams = http2Streams();
        if (streams > 0) {
            out.add(streams + " HTTP/2 stream(s)"); // Tomcat keeps no request of a running stream where it can be named
        }
        return out;
    }

    /**
     * The requests in progress, as their {@code RequestInfo}: those a thread is working on (by their stage), and
     * async ones waiting for completion, whose processor stays attached to its connection meanwhile
     * ({@code SocketWrapperBase.getCurrentProcessor()}, 9.0+) and says {@code isAsync()}.
     */
    private Set<Object> inProgress() {
        Set<Object> out = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Object info : requestInfos()) {
            Object stage = tryCall(info, "getStage");
            if (stage instanceof Integer && (Integer) stage >= FIRST_BUSY_STAGE && (Integer) stage <= LAST_BUSY_STAGE
                    && onAConnection(info) && (!Integer.valueOf(FIRST_BUSY_STAGE).equals(stage) || hasARequestLine(info))) {
                out.add(info);
            }
        }
        Object connections = tryCall(tryCall(protocol(), "getEndpoint"), "getConnections");
        if (connections instanceof Collection) {
            for (Object wrapper : new ArrayList<>((Collection<?>) connections)) {
                Object processor = tryCall(wrapper, "getCurrentProcessor");
                if (Boolean.TRUE.equals(tryCall(processor, "isAsync"))) {
                    Object info = tryCall(tryCall(processor, "getRequest"), "getRequestProcessor");
                    if (info != null) {
                        out.add(info);
                    }
                }
            }
        }
        return out;
    }

    /**
     * In STAGE_PARSE, a connection counts as a request once its request line is read (as Jetty counts them): before
     * that it may be a connection that never sends one, such as the one that woke the acceptor at stop-accepting.
     */
    private static boolean hasARequestLine(Object info) {
        Object method = tryCall(info, "getMethod");
        return method != null && !String.valueOf(method).isEmpty();
    }

    /**
     * Whether the request's processor is still attached to a connection. A recycled Http11Processor keeps the stage
     * it ended in: one that read an HTTP/2 preface returns UPGRADING in STAGE_PARSE and goes back to the pool.
     */
    private static boolean onAConnection(Object info) {
        Object processor = Reflect.field(Reflect.field(info, "req"), "hook");
        return processor == null || Reflect.field(processor, "socketWrapper") != null;
    }

    /**
     * The servlet that serves the exiting request stays allocated to it ({@code StandardWrapper.countAllocated},
     * counted up by {@code StandardWrapperValve} around {@code service()}), since {@code service()} never returns:
     * Tomcat's own stop then waits for it (the wrapper's {@code unloadDelay}), and Spring Boot's graceful shutdown
     * ({@code GracefulShutdown.isActive}, Boot 2.3 to 3.5) until its phase times out, 30 s. Its count goes back
     * down here, as if the request had returned. The request is this thread's {@code RequestInfo}
     * ({@code getWorkerThreadName}), whose coyote request holds the connector's request in note 1
     * ({@code CoyoteAdapter.ADAPTER_NOTES}); 9.0.x, 10.1 and 11 alike.
     */
    @Override
    public void letGoOfExitingRequest() {
        String thread = Thread.currentThread().getName();
        for (Object info : requestInfos()) {
            if (thread.equals(tryCall(info, "getWorkerThreadName"))) {
                Object request = tryCall(Reflect.field(info, "req"), "getNote", 1);
                Object allocated = Reflect.field(tryCall(request, "getWrapper"), "countAllocated");
                if (allocated instanceof AtomicInteger && ((AtomicInteger) allocated).get() > 0) {
                    ((AtomicInteger) allocated).decrementAndGet();
                }
            }
        }
    }

    @Override
    public boolean isServing(StackTraceElement[] stack) {
        return Servers.onStack(stack, "org.apache.catalina.connector.CoyoteAdapter", "service");
    }

    @Override
    public void stop() {
        // Request threads still running (stuck, or waiting in System.exit) would hold the stop for the
        // executor's default 5 s.
        tryCall(connector, "setProperty", "executorTerminationTimeoutMillis", "500");
        Reflect.require(connector, "stop");
    }

    private Object protocol() {
        return tryCall(connector, "getProtocolHandler");
    }

    /**
     * The protocol's RequestGroupInfo ({@code AbstractProtocol.getHandler().getGlobal()}), and HTTP/2's, which
     * holds the streams' requests ({@code Http2Protocol.getGlobal()}, 8.5+).
     */
    private List<Object> requestGroups() {
        List<Object> out = new ArrayList<>();
        out.add(tryCall(tryCall(protocol(), "getHandler"), "getGlobal"));
        Object upgrades = tryCall(protocol(), "findUpgradeProtocols");
        if (upgrades instanceof Object[]) {
            for (Object upgrade : (Object[]) upgrades) {
                out.add(tryCall(upgrade, "getGlobal"));
            }
        }
        out.removeIf(g -> g == null);
        return out;
    }

    private List<Object> requestInfos() {
        List<Object> out = new ArrayList<>();
        for (Object global : requestGroups()) {
            Object processors = Reflect.field(global, "processors");
            if (processors instanceof List) {
                synchronized (global) { // RequestGroupInfo guards the list with its own monitor
                    out.addAll((List<?>) processors);
                }
            }
        }
        return out;
    }
}
