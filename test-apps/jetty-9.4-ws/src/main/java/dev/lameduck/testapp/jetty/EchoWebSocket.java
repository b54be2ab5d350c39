package dev.lameduck.testapp.jetty;

import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketMessage;
import org.eclipse.jetty.websocket.api.annotations.WebSocket;
import org.eclipse.jetty.websocket.servlet.WebSocketServlet;
import org.eclipse.jetty.websocket.servlet.WebSocketServletFactory;

/**
 * The echo WebSocket at /ws with Jetty 9.4's WebSocket API (Jetty 10 has its own: jetty-10-ws holds the same
 * class for it, so the app's source builds with either).
 */
final class EchoWebSocket {
    private EchoWebSocket() {
    }

    /** Maps the servlet at /ws: an exact mapping, so it wins over the endpoints' /* for that path only. */
    static void addTo(ServletContextHandler context) {
        context.addServlet(new ServletHolder(new UpgradeServlet()), "/ws");
    }

    /** Builds its own WebSocket factory on init: the context needs no WebSocket set-up of its own on 9.4. */
    static final class UpgradeServlet extends WebSocketServlet {
        @Override
        public void configure(WebSocketServletFactory factory) {
            factory.register(Echo.class);
        }
    }

    @WebSocket
    public static final class Echo {
        @OnWebSocketMessage
        public void onText(Session session, String message) {
            session.getRemote().sendString(message, null);
        }
    }
}
