package dev.lameduck.grpc;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Drives one grpc-java server ({@code io.grpc.internal.ServerImpl}, 1.60 to 1.85) through its own API.
 *
 * <ul>
 *   <li>Lame duck: each connection ({@code ServerTransport}) is shut down on its own once the ramp has passed it
 *       ({@link CloseRamp}): grpc-netty's transport {@code shutdown()} is a graceful GOAWAY (max stream id, a ping,
 *       then the last stream id), RPCs in flight run on and the client takes new ones to a new connection. The
 *       connections are looked at every {@link #GOAWAY_EVERY_MILLIS}, those opened during the lame duck too. The
 *       standard health service (if the app registered {@code HealthStatusManager}'s) answers NOT_SERVING from
 *       now on ({@code enterTerminalState()}).</li>
 *   <li>Stop accepting: {@code Server.shutdown()}: the listening socket is closed, open RPCs run on.</li>
 *   <li>In flight: the active HTTP/2 streams of each netty transport (a transport of another kind counts 1).</li>
 *   <li>Stop: {@code shutdownNow()}: what is left ends with UNAVAILABLE.</li>
 * </ul>
 */
final class GrpcHandle implements ServerHandle {
    private static final String HEALTH_SERVICE = "grpc.health.v1.Health";
    private static final long GOAWAY_EVERY_MILLIS = 50;
    private static final long TRAILERS_MILLIS = 300;

    private final Object server;
    private final String version;
    private final Set<Object> toldToGoAway = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private volatile boolean accepting = true;
    private volatile String lastPorts = "(no port)";

    private GrpcHandle(Object server, String version) {
        this.server = server;
        this.version = version;
    }

    static GrpcHandle prepare(Object server) throws Exception {
        Object version = Reflect.sibling(server, GrpcSupport.SERVER_IMPL, "io.grpc.internal.GrpcUtil")
                .getField("IMPLEMENTATION_VERSION").get(null);
        return new GrpcHandle(server, String.valueOf(version));
    }

    @Override
    public String describe() {
        return "grpc " + version + " on " + ports();
    }

    @Override
    public String ports() {
        Object sockets = tryCall(server, "getListenSockets");
        StringBuilder sb = new StringBuilder();
        if (sockets instanceof Collection) {
            for (Object address : (Collection<?>) sockets) {
                if (address instanceof InetSocketAddress && ((InetSocketAddress) address).getPort() > 0) {
                    sb.append(sb.length() == 0 ? ":" : ", :").append(((InetSocketAddress) address).getPort());
                }
            }
        }
        if (sb.length() > 0) {
            lastPorts = sb.toString(); // gone once the server is shut down, still the ones to name in the log
        }
        return lastPorts;
    }

    @Override
    public void lameDuck() {
        healthNotServing();
        goAwayAsTold();
        Servers.repeat("lameduck-grpc-goaway", GOAWAY_EVERY_MILLIS, () -> accepting, this::goAwayAsTold);
    }

    /**
     * Each connection that the ramp has passed gets its GOAWAY, once. The transport is the connection's object for
     * the ramp: one {@code NettyServerTransport} per channel, in {@code ServerImpl.transports} from its start to its
     * end. Called again every {@link #GOAWAY_EVERY_MILLIS} until accepting stops; the server's {@code shutdown()}
     * then shuts down every transport left ({@code ServerImpl.ServerListenerImpl.serverShutdown}).
     */
    private synchronized void goAwayAsTold() {
        List<Object> open = transports();
        for (Object transport : open) {
            if (!toldToGoAway.contains(transport) && CloseRamp.tells(transport) && toldToGoAway.add(transport)) {
                tryCall(transport, "shutdown");
            }
        }
        // A closed connection's transport is not held on to until the JVM ends.
        Set<Object> stillOpen = Collections.newSetFromMap(new IdentityHashMap<>());
        stillOpen.addAll(open);
        toldToGoAway.retainAll(stillOpen);
    }

    /**
     * {@code HealthStatusManager.enterTerminalState()}, reached through the server's registry: the health service's
     * call handler ({@code ServerCalls$UnaryServerCallHandler.method}, under any interceptors' {@code callHandler})
     * is the generated {@code HealthGrpc$MethodHandlers}, whose {@code serviceImpl} is the manager's HealthServiceImpl.
     */
    private void healthNotServing() {
        Object services = tryCall(Reflect.field(server, "registry"), "getServices");
        if (!(services instanceof Collection)) {
            return;
        }
        for (Object service : (Collection<?>) services) {
            if (!HEALTH_SERVICE.equals(tryCall(tryCall(service, "getServiceDescriptor"), "getName"))) {
                continue;
            }
            Object methods = tryCall(service, "getMethods");
            if (methods instanceof Collection && !((Collection<?>) methods).isEmpty()) {
                Object handler = tryCall(((Collection<?>) methods).iterator().next(), "getServerCallHandler");
                while (Reflect.field(handler, "callHandler") != null) {
                    handler = Reflect.field(handler, "callHandler");
                }
                Object impl = Reflect.field(Reflect.field(handler, "method"), "serviceImpl");
                if (Reflect.has(impl, "enterTerminalState")) {
                    Reflect.require(impl, "enterTerminalState");
                    Log.debug("%s: health service NOT_SERVING", describe());
                } else {
                    Log.debug("%s: health service found, but not HealthStatusManager's: left as it is", describe());
                }
            }
        }
    }

    @Override
    public void stopAccepting() {
        accepting = false;
        goAwayAsTold(); // the lame duck is over (CloseRamp.everyone()): each connection not told yet is told now
        ports(); // remembered for the log
        Reflect.require(server, "shutdown");
    }

    @Override
    public Collection<?> connections() {
        return transports();
    }

    @Override
    public int inFlight() {
        int n = 0;
        for (Object transport : transports()) {
            Object active = tryCall(connection(transport), "numActiveStreams");
            n += active instanceof Integer ? (Integer) active : 1;
        }
        return n;
    }

    @Override
    public long completed() {
        Object tracer = Reflect.field(server, "serverCallTracer");
        long n = 0;
        for (String counter : new String[] {"callsSucceeded", "callsFailed"}) {
            Object value = tryCall(Reflect.field(tracer, counter), "value");
            n += value instanceof Long ? (Long) value : 0;
        }
        return n;
    }

    /** Each RPC in flight as {@code RPC /service/Method}, from its call's MethodDescriptor. */
    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        for (Object call : callsInFlight()) {
            Object name = tryCall(tryCall(call, "getMethodDescriptor"), "getFullMethodName");
            out.add("RPC /" + (name != null ? name : "(method unknown)"));
        }
        return out;
    }

    /**
     * The server-side calls ({@code ServerCallImpl}) of the RPCs in flight, from each netty transport's active
     * HTTP/2 streams: the stream's state (its {@code streamKey} property) holds grpc's application-thread
     * listener, whose listener holds the call. A transport of another kind contributes nothing.
     */
    private List<Object> callsInFlight() {
        List<Object> out = new ArrayList<>();
        for (Object transport : transports()) {
            Object connection = connection(transport);
            Object key = Reflect.field(Reflect.field(transport, "grpcHandler"), "streamKey");
            Method forEach = connection == null || key == null ? null : Reflect.find(connection.getClass(), "forEachActiveStream", (Object) null);
            if (forEach == null) {
                continue;
            }
            Class<?> visitor = forEach.getParameterTypes()[0];
            Object collect = Proxy.newProxyInstance(visitor.getClassLoader(), new Class<?>[] {visitor}, (proxy, m, args) -> {
                if (m.getName().equals("visit")) {
                    Object listener = Reflect.field(tryCall(args[0], "getProperty", key), "listener");
                    Object inner = Reflect.field(listener, "listener");
                    Object call = Reflect.field(inner != null ? inner : listener, "call");
                    if (call != null) {
                        out.add(call);
                    }
                    return true;
                }
                return m.getName().equals("hashCode") ? System.identityHashCode(proxy) : m.getName().equals("equals") ? proxy == args[0] : "lameduck";
            });
            try {
                forEach.invoke(connection, collect);
            } catch (Exception e) {
                Log.debug("listing the RPCs of %s: %s", transport, e);
            }
        }
        return out;
    }

    @Override
    public boolean isServing(StackTraceElement[] stack) {
        for (StackTraceElement frame : stack) {
            if (frame.getClassName().contains("io.grpc.internal.ServerImpl$JumpToApplicationThreadServerStreamListener")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The RPCs still running are closed with UNAVAILABLE first, as the contract says: {@code shutdownNow()} alone
     * resets their streams, which the client sees as CANCELLED, a status it does not retry elsewhere.
     */
    @Override
    public void stop() {
        accepting = false;
        try {
            Object unavailable = Reflect.call(grpcStatic("io.grpc.Status", "UNAVAILABLE"), "withDescription",
                    "the server is shutting down and the drain time is up");
            for (Object call : callsInFlight()) {
                Object trailers = Reflect.sibling(server, GrpcSupport.SERVER_IMPL, "io.grpc.Metadata").getConstructor().newInstance();
                Reflect.call(call, "close", unavailable, trailers);
            }
            // The trailers are written by the transport's event loop: give them a moment before the connections go.
            long giveUp = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TRAILERS_MILLIS);
            while (inFlight() > 0 && System.nanoTime() < giveUp) {
                Thread.sleep(5);
            }
        } catch (Exception e) {
            Log.debug("%s: closing the RPCs left with UNAVAILABLE: %s", describe(), e);
        }
        Reflect.require(server, "shutdownNow");
        tryCall(server, "awaitTermination", 500L, TimeUnit.MILLISECONDS);
    }

    private Object grpcStatic(String type, String field) throws Exception {
        return Reflect.sibling(server, GrpcSupport.SERVER_IMPL, type).getField(field).get(null);
    }

    /** The server's open connections ({@code ServerImpl.transports}, guarded by its {@code lock}). */
    private List<Object> transports() {
        Object lock = Reflect.field(server, "lock");
        Object transports = Reflect.field(server, "transports");
        if (lock == null || !(transports instanceof Collection)) {
            return Collections.emptyList();
        }
        synchronized (lock) {
            return new ArrayList<>((Collection<?>) transports);
        }
    }

    /** A netty transport's HTTP/2 connection ({@code NettyServerHandler.connection()}), or null. */
    private static Object connection(Object transport) {
        return tryCall(Reflect.field(transport, "grpcHandler"), "connection");
    }
}
