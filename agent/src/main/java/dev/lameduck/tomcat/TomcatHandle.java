package dev.lameduck.tomcat;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Drives one Tomcat connector (9, 10.1, 11) through its own API.
 *
 * <ul>
 *   <li>Binding: {@code bindOnInit=false} is set before the connector initialises; only then can
 *       {@code closeServerSocketGraceful()} (9.0.x, 10.1, 11) really close the listening socket.</li>
 *   <li>Lame duck: {@code maxKeepAliveRequests=1}, which {@code Http11Processor} reads for every request, so
 *       every response from now on carries {@code Connection: close}; HTTP/2 connections get a GOAWAY.</li>
 *   <li>Stop accepting: {@code closeServerSocketGraceful()}; open connections keep being served. Never
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

    @Override
    public void lameDuck() {
        Object protocol = protocol();
        if (Reflect.has(protocol, "setMaxKeepAliveRequests", 1)) {
            tryCall(protocol, "setMaxKeepAliveRequests", 1);
        }
        // Requests already past that check: their processor ends the response with Connection: close too
        // (Http11Processor.keepAlive, read when the response is prepared).
        for (Object info : inProgress()) {
            Object processor = Reflect.field(Reflect.field(info, "req"), "hook");
            Object response = tryCall(tryCall(processor, "getRequest"), "getResponse");
            if (Boolean.FALSE.equals(tryCall(response, "isCommitted"))) {
                try {
                    Reflect.findField(processor.getClass(), "keepAlive").setBoolean(processor, false);
                } catch (Exception e) {
                    Log.debug("keep-alive off for %s: %s", info, e);
                }
            }
        }
        // The connection handler's pause() reaches only upgraded connections: each HTTP/2 one sends a graceful
        // GOAWAY (Http2UpgradeHandler.pause(), 8.5+). closeServerSocketGraceful() calls it again, for the h2
        // connections opened during the lame duck.
        Reflect.require(tryCall(protocol, "getHandler"), "pause");
    }

    @Override
    public void stopAccepting() {
        Object endpoint = tryCall(protocol(), "getEndpoint");
        if (endpoint != null && !"BOUND_ON_START".equals(String.valueOf(Reflect.field(endpoint, "bindState")))) {
            Log.warn("%s was bound on init (bindOnInit=true in its configuration?): its listening socket cannot be closed early; "
                    + "new connections wait in the backlog until the stop", describe());
        }
        Reflect.require(protocol(), "closeServerSocketGraceful");
    }

    @Override
    public int inFlight() {
        return inProgress().size();
    }

    @Override
    public long completed() {
        Object count = tryCall(global(), "getRequestCount");
        return count instanceof Number ? ((Number) count).longValue() : 0;
    }

    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        for (Object info : inProgress()) {
            out.add(tryCall(info, "getMethod") + " " + tryCall(info, "getCurrentUri") + " (" + tryCall(info, "getRequestProcessingTime") + " ms)");
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
            if (stage instanceof Integer && (Integer) stage >= FIRST_BUSY_STAGE && (Integer) stage <= LAST_BUSY_STAGE) {
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

    /** The protocol's RequestGroupInfo, through its connection handler ({@code AbstractProtocol.getHandler()}). */
    private Object global() {
        return tryCall(tryCall(protocol(), "getHandler"), "getGlobal");
    }

    private List<Object> requestInfos() {
        Object global = global();
        Object processors = Reflect.field(global, "processors");
        List<Object> out = new ArrayList<>();
        if (processors instanceof List) {
            synchronized (global) { // RequestGroupInfo guards the list with its own monitor
                out.addAll((List<?>) processors);
            }
        }
        return out;
    }


}
