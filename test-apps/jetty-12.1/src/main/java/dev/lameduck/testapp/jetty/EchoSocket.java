package dev.lameduck.testapp.jetty;

import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketMessage;
import org.eclipse.jetty.websocket.api.annotations.WebSocket;

/** The WebSocket at /ws (Jetty 12 API): answers each text message with the same text. */
@WebSocket
public final class EchoSocket {
    @OnWebSocketMessage
    public void onText(Session session, String message) {
        session.sendText(message, Callback.NOOP);
    }
}
