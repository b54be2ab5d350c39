package dev.lameduck.tomcat;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.Servers;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The WebSockets of one Tomcat connector (9.0, 10.1, 11; {@code tomcat-embed-websocket}, JSR 356). Tomcat lists
 * them per application: each context's {@code WsServerContainer} (its ServletContext attribute) keeps every
 * session until its socket is closed ({@code WsWebSocketContainer.sessions}); a session's socket wrapper
 * ({@code WsRemoteEndpointImplServer.socketWrapper}) tells the connector, by its endpoint.
 */
final class TomcatWebSockets {
    private static final String[] CONTAINER_ATTRIBUTES = {"jakarta.websocket.server.ServerContainer", "javax.websocket.server.ServerContainer"};

    private TomcatWebSockets() {}

    /** The open sessions whose socket belongs to {@code connector}'s endpoint. */
    static List<Object> of(Object connector, Object endpoint) {
        List<Object> out = new ArrayList<>();
        for (Object context : contexts(connector)) {
            Object servletContext = tryCall(context, "getServletContext");
            for (String name : CONTAINER_ATTRIBUTES) {
                Object sessions = Reflect.field(tryCall(servletContext, "getAttribute", name), "sessions");
                if (sessions instanceof Map) {
                    for (Object session : ((Map<?, ?>) sessions).keySet()) {
                        Object wrapper = Reflect.field(Reflect.field(session, "wsRemoteEndpoint"), "socketWrapper");
                        if (tryCall(wrapper, "getEndpoint") == endpoint && Boolean.TRUE.equals(tryCall(session, "isOpen"))) {
                            out.add(session);
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Service, engine, hosts, contexts ({@code Container.findChildren()}). */
    private static List<Object> contexts(Object connector) {
        List<Object> out = new ArrayList<>();
        Object engine = tryCall(tryCall(connector, "getService"), "getContainer");
        Object hosts = tryCall(engine, "findChildren");
        if (hosts instanceof Object[]) {
            for (Object host : (Object[]) hosts) {
                Object contexts = tryCall(host, "findChildren");
                if (contexts instanceof Object[]) {
                    for (Object context : (Object[]) contexts) {
                        out.add(context);
                    }
                }
            }
        }
        return out;
    }

    /**
     * Sends each session a close frame 1001, on a thread of the agent's own: {@code WsSession.close(CloseReason)}
     * blocks (its frame is written with a 50 ms timeout) and runs the application's {@code @OnClose} in the calling
     * thread, which must not hold the shutdown sequence. Tomcat then waits for the client's close frame
     * ({@code isClosed()} true), or closes at the server's stop.
     */
    static void sayGoingAway(List<Object> sessions) {
        if (sessions.isEmpty()) {
            return;
        }
        Thread closing = new Thread(() -> {
            for (Object session : sessions) {
                try {
                    close(session);
                } catch (Exception e) {
                    Log.debug("closing WebSocket %s: %s", session, e);
                }
            }
        }, "lameduck-tomcat-websockets");
        closing.setDaemon(true);
        closing.start();
    }

    /** {@code close(new CloseReason(CloseCodes.GOING_AWAY, ...))}, javax or jakarta as the session's. */
    private static void close(Object session) throws Exception {
        Method close = null;
        for (Method m : session.getClass().getMethods()) {
            if (m.getName().equals("close") && m.getParameterCount() == 1 && m.getParameterTypes()[0].getName().endsWith("websocket.CloseReason")) {
                close = m;
            }
        }
        if (close == null) {
            throw new NoSuchMethodException("WsSession.close(CloseReason)");
        }
        Class<?> reasonType = close.getParameterTypes()[0];
        Object goingAway = Class.forName(reasonType.getName() + "$CloseCodes", false, reasonType.getClassLoader()).getField("GOING_AWAY").get(null);
        for (Constructor<?> c : reasonType.getConstructors()) {
            if (c.getParameterCount() == 2) {
                close.invoke(session, c.newInstance(goingAway, Servers.GOING_AWAY_REASON));
                return;
            }
        }
        throw new NoSuchMethodException("CloseReason(CloseCode, String)");
    }

    /** How many of these sessions are not closed yet: their client's close frame not in, their socket open. */
    static int open(List<Object> sessions) {
        int n = 0;
        for (Object session : sessions) {
            if (!Boolean.TRUE.equals(tryCall(session, "isClosed"))) {
                n++;
            }
        }
        return n;
    }
}
