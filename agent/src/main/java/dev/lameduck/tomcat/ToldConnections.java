package dev.lameduck.tomcat;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.Servers;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The connections of one Tomcat connector that the lame duck has told to go, and the walk that tells each one once
 * the ramp has passed it ({@link CloseRamp}). Tomcat decides keep-alive per request inside
 * {@code Http11Processor.service()}, where the agent has no hook, so a connection is told through the state that
 * decision reads, by a walk over the endpoint's connections ({@code AbstractEndpoint.getConnections()}, a set of
 * socket wrappers, 9.0.28+) every {@link #EVERY_MILLIS} until accepting stops:
 * <ul>
 *   <li>HTTP/1.1: the connection's keep-alive count ({@code SocketWrapperBase.keepAliveLeft}, set from
 *       {@code maxKeepAliveRequests} for each new connection and decremented by each request when that is above 0;
 *       9.0.x to 11) is set to 0, so that its next request ends with {@code Connection: close}; a request in progress
 *       there ends so too ({@link #closeAfterThisResponse}). The framing stays: Tomcat keeps a response of unknown
 *       length chunked when keep-alive is off ({@code Http11Processor.prepareResponse}).</li>
 *   <li>HTTP/2: the connection's own processor ({@code SocketWrapperBase.getCurrentProcessor()}, 9.0.28+: an
 *       {@code UpgradeProcessorInternal}, whose {@code pause()} is {@code Http2UpgradeHandler.pause()}, 8.5+) sends a
 *       graceful GOAWAY, the one the connection handler's {@code pause()} sends to every connection.</li>
 * </ul>
 * Once the ramp is over (at once with {@code delay.close=immediate} or no delay) {@code maxKeepAliveRequests} is
 * set to 1, as the lame duck did before the ramp: every response from then on carries {@code Connection: close},
 * also the first one of a connection opened since the last walk.
 */
final class ToldConnections {
    private static final long EVERY_MILLIS = 50;
    // org.apache.coyote.Constants: a processor's response may still be told in these stages (see closeAfterThisResponse).
    /**
     * How long a request must have run before its response is told while in progress: a short one is not, since it
     * may be committing its response just then (a keep-alive response, then a close: wrk saw 3 read errors in 7 s of
     * lame duck at ~11,000 requests/s when every request in progress was told); its connection is told on its next
     * request instead.
     */
    private static final long LONG_REQUEST_MILLIS = 2 * EVERY_MILLIS;
    private static final int STAGE_PREPARE = 2;
    private static final int STAGE_SERVICE = 3;

    private final Object protocol;
    private final Object endpoint;
    private final Supplier<List<Object>> requestInfos;
    /** {@code SocketWrapperBase.keepAliveLeft}; null if missing: then every connection is told at once. */
    private final Field keepAliveLeft;
    private final Reflect.Call getConnections = new Reflect.Call("getConnections");
    private final Reflect.Call getCurrentProcessor = new Reflect.Call("getCurrentProcessor");
    private final Reflect.Call isUpgrade = new Reflect.Call("isUpgrade");
    private final Reflect.Call pause = new Reflect.Call("pause");

    // Only touched by tell() and start(), which hold this object's monitor.
    /** HTTP/1.1 connections told: their request in progress then was told too. */
    private final Set<Object> told = identitySet();
    /** HTTP/2 connections sent their GOAWAY. */
    private final Set<Object> wentAway = identitySet();
    /** Keep-alive was unlimited: the agent set a limit so that Tomcat counts per connection (see start()). */
    private boolean countingForTheRamp;
    private boolean everyResponseCloses;

    ToldConnections(Object connector, Object protocol, Supplier<List<Object>> requestInfos) {
        this.protocol = protocol;
        this.endpoint = tryCall(protocol, "getEndpoint");
        this.requestInfos = requestInfos;
        Field field = null;
        try {
            field = Reflect.findField(Reflect.sibling(connector, TomcatSupport.CONNECTOR, "org.apache.tomcat.util.net.SocketWrapperBase"), "keepAliveLeft");
        } catch (Exception e) {
            Log.debug("tomcat: no keep-alive count per connection (%s); every connection is told at once", e);
        }
        this.keepAliveLeft = field;
    }

    /**
     * The lame duck starts: the connections the ramp has passed already are told now, the others as it passes them,
     * while {@code accepting} holds.
     *
     * <p>With unlimited keep-alive ({@code maxKeepAliveRequests} -1, or 0) Tomcat counts no requests per connection,
     * so one connection could not be told alone: the limit is raised to {@link Integer#MAX_VALUE}, the same in
     * practice, after giving the open connections that many first (new ones get it from the limit), so that none
     * closes on its next request.
     */
    synchronized void start(BooleanSupplier accepting) {
        Object max = tryCall(protocol, "getMaxKeepAliveRequests");
        if (!everyone() && max instanceof Integer && (Integer) max <= 0 && Reflect.has(protocol, "setMaxKeepAliveRequests", 1)) {
            for (Object connection : connections()) {
                keepCounting(connection);
            }
            tryCall(protocol, "setMaxKeepAliveRequests", Integer.MAX_VALUE);
            countingForTheRamp = true; // a connection opened meanwhile may still have -1: each walk sees to it
            Log.debug("tomcat: maxKeepAliveRequests=%s (unlimited) made %d for the ramp", max, Integer.MAX_VALUE);
        }
        tell();
        Servers.repeat("lameduck-tomcat-tell", EVERY_MILLIS, accepting, this::tell);
    }

    /** One walk: each connection that the ramp has passed is told; when it has passed all, every response closes. */
    synchronized void tell() {
        boolean everyone = everyone();
        if (everyone && !everyResponseCloses) {
            // Http11Processor reads it for every request: no response from now on keeps its connection.
            tryCall(protocol, "setMaxKeepAliveRequests", 1);
            everyResponseCloses = true;
        }
        List<Object> open = connections();
        Set<Object> justTold = identitySet();
        for (Object connection : open) {
            try {
                if (!everyone && !CloseRamp.tells(connection)) {
                    if (countingForTheRamp) {
                        keepCounting(connection);
                    }
                    continue;
                }
                closeAfterNextResponse(connection);
                if (told.add(connection)) {
                    justTold.add(connection);
                }
                if (!wentAway.contains(connection) && goAway(connection)) {
                    wentAway.add(connection);
                }
            } catch (Exception e) {
                Log.debug("telling %s to go: %s", connection, e);
            }
        }
        closeResponsesInProgress(told);
        forgetClosed(open);
    }

    private boolean everyone() {
        return keepAliveLeft == null || CloseRamp.tellsEveryone();
    }

    /**
     * Its next request gets {@code Connection: close}. Set again on every walk while the count is above 0: the write
     * can race a request's own {@code decrementKeepAlive()} ({@code --keepAliveLeft}, not atomic) and be lost.
     */
    private void closeAfterNextResponse(Object connection) {
        if (keepAliveLeft(connection) > 0) {
            setKeepAliveLeft(connection, 0);
        }
    }

    /** With keep-alive made countable for the ramp: a connection not yet told keeps a count that never runs out. */
    private void keepCounting(Object connection) {
        if (keepAliveLeft(connection) <= 0) {
            setKeepAliveLeft(connection, Integer.MAX_VALUE);
        }
    }

    /** The connection's keep-alive count; 0 if it cannot be read. */
    private int keepAliveLeft(Object connection) {
        try {
            return keepAliveLeft == null ? 0 : keepAliveLeft.getInt(connection);
        } catch (IllegalAccessException | IllegalArgumentException e) {
            return 0;
        }
    }

    private void setKeepAliveLeft(Object connection, int left) {
        try {
            keepAliveLeft.setInt(connection, left);
        } catch (IllegalAccessException | IllegalArgumentException e) {
            Log.debug("keep-alive count of %s: %s", connection, e);
        }
    }

    /**
     * A graceful GOAWAY if the connection is HTTP/2 (true then). False for an HTTP/1.1 connection, and while a thread
     * holds an HTTP/2 connection's processor ({@code ConnectionHandler.process} takes it for each event): the next
     * walk tries again. True also for another upgraded connection (WebSocket), whose {@code pause()} does nothing.
     * False too while the HTTP/2 connection is still being set up: {@code Http2UpgradeHandler.pause()} sends its
     * GOAWAY only from the state CONNECTED (9.0-11), which {@code init()} sets once the preface is exchanged (seen
     * on Tomcat 10.1: a connection opened in the lame duck, walked in that window, never got its GOAWAY).
     */
    private boolean goAway(Object connection) throws Exception {
        Object processor = getCurrentProcessor.on(connection);
        if (processor == null || !Boolean.TRUE.equals(isUpgrade.on(processor))) {
            return false;
        }
        pause.on(processor);
        Object state = Reflect.field(Reflect.field(processor, "internalHttpUpgradeHandler"), "connectionState");
        return !(state instanceof AtomicReference) || !"NEW".equals(String.valueOf(((AtomicReference<?>) state).get()));
    }

    /**
     * The long requests in progress on told connections (running for {@link #LONG_REQUEST_MILLIS} at least, see there):
     * those past the point where Tomcat reads the keep-alive count end with {@code Connection: close} too. A request's
     * processor is its {@code RequestInfo}'s {@code req.hook}; its connection, the processor's {@code socketWrapper}
     * (null once it is recycled).
     */
    private void closeResponsesInProgress(Set<Object> connections) {
        if (connections.isEmpty()) {
            return;
        }
        for (Object info : requestInfos.get()) {
            Object request = Reflect.field(info, "req");
            Object processor = Reflect.field(request, "hook");
            Object started = tryCall(request, "getStartTime"); // wall-clock ms, also while an async request waits
            if (processor != null && processor.getClass().getName().endsWith(".Http11Processor")
                    && started instanceof Long && (Long) started > 0 && System.currentTimeMillis() - (Long) started >= LONG_REQUEST_MILLIS
                    && connections.contains(Reflect.field(processor, "socketWrapper"))) {
                closeAfterThisResponse(info, processor);
            }
        }
    }

    /**
     * Ends a request's response with {@code Connection: close} ({@code Http11Processor.keepAlive}, read when the
     * response is committed and again when it is complete, to close the connection) if it has not begun yet.
     * Only while the request is prepared or served (its stage), or waits for its async completion (stage ENDED
     * meanwhile, {@code isAsync()}): from the end of a request on, its response is recycled, uncommitted, for the
     * next one, and keep-alive off would close the connection without having said so (so the response is seen
     * uncommitted before the request is seen in one of those states, not after).
     * If the response is committed after the check, the header may have said keep-alive: then keep-alive is put back,
     * since a close the client was not told of can fail its next request. (What is left: a commit that reads
     * keep-alive just before the write and marks itself committed just after the second check; microseconds.)
     * Not a request asking to upgrade its connection: keep-alive off would add {@code Connection: close} to its
     * {@code 101} ({@code Http11Processor.prepareResponse} reads it for every status).
     */
    private static void closeAfterThisResponse(Object info, Object processor) {
        Object request = tryCall(processor, "getRequest");
        Object response = tryCall(request, "getResponse");
        if (!Boolean.FALSE.equals(tryCall(response, "isCommitted"))) {
            return;
        }
        if (tryCall(request, "getHeader", "Upgrade") != null) {
            return; // a handshake (a WebSocket one): see above
        }
        Object stage = tryCall(info, "getStage");
        if (!Integer.valueOf(STAGE_PREPARE).equals(stage) && !Integer.valueOf(STAGE_SERVICE).equals(stage)
                && !Boolean.TRUE.equals(tryCall(processor, "isAsync"))) {
            return;
        }
        try {
            Field keepAlive = Reflect.findField(processor.getClass(), "keepAlive");
            keepAlive.setBoolean(processor, false);
            if (Boolean.TRUE.equals(tryCall(response, "isCommitted"))) {
                Object connectionHeader = tryCall(tryCall(response, "getMimeHeaders"), "getHeader", "Connection");
                if (connectionHeader == null || !String.valueOf(connectionHeader).toLowerCase(Locale.ROOT).contains("close")) {
                    keepAlive.setBoolean(processor, true);
                }
            }
        } catch (Exception e) {
            Log.debug("keep-alive off for %s: %s", info, e);
        }
    }

    /** The endpoint's open connections (socket wrappers), empty if it cannot tell. */
    private List<Object> connections() {
        try {
            Object connections = getConnections.on(endpoint);
            return connections instanceof Collection ? new ArrayList<>((Collection<?>) connections) : Collections.emptyList();
        } catch (Exception e) {
            Log.debug("tomcat: listing the connections: %s", e);
            return Collections.emptyList();
        }
    }

    /** Keeps only the connections still open: a closed one's wrapper is not held on to until the JVM ends. */
    private void forgetClosed(List<Object> open) {
        Set<Object> stillOpen = identitySet();
        stillOpen.addAll(open);
        told.retainAll(stillOpen);
        wentAway.retainAll(stillOpen);
    }

    private static Set<Object> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }
}
