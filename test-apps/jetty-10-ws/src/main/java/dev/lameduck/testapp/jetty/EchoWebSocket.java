package dev.lameduck.testapp.jetty;

import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketMessage;
import org.eclipse.jetty.websocket.api.annotations.WebSocket;
import org.eclipse.jetty.websocket.server.JettyWebSocketServlet;
import org.eclipse.jetty.websocket.server.JettyWebSocketServletFactory;
import org.eclipse.jetty.websocket.server.config.JettyWebSocketServletContainerInitializer;

/**
 * The echo WebSocket at /ws with Jetty 10's WebSocket API (Jetty 9.4 has its own: jetty-9.4-ws holds the same
 * class for it, so the app's source builds with either).
 */
final class EchoWebSocket {
    private EchoWebSocket() {
    }

    /** Maps the servlet at /ws: an exact mapping, so it wins over the endpoints' /* for that path only. */
    static void addTo(ServletContextHandler context) {
        // Jetty 10's servlet finds its WebSocket components in the context: this initializer puts them there.
        JettyWebSocketServletContainerInitializer.configure(context, null);
        context.addServlet(new ServletHolder(new UpgradeServlet()), "/ws");
    }

    static final class UpgradeServlet extends JettyWebSocketServlet {
        @Override
        protected void configure(JettyWebSocketServletFactory factory) {
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
