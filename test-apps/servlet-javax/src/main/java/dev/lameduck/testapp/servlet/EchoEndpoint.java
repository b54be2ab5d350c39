package dev.lameduck.testapp.servlet;

import javax.servlet.ServletContext;
import javax.websocket.DeploymentException;
import javax.websocket.OnMessage;
import javax.websocket.server.ServerContainer;
import javax.websocket.server.ServerEndpoint;

/** A WebSocket at /ws that answers each text message with the same text, for a container with javax.websocket. */
@ServerEndpoint("/ws")
public final class EchoEndpoint {
    @OnMessage
    public String echo(String message) {
        return message;
    }

    /** Adds the endpoint to the container the WebSocket implementation's initializer has put in the context. */
    public static void register(ServletContext context) {
        ServerContainer container = (ServerContainer) context.getAttribute(ServerContainer.class.getName());
        if (container == null) {
            throw new IllegalStateException("no WebSocket container in the servlet context: its initializer has not run");
        }
        try {
            container.addEndpoint(EchoEndpoint.class);
        } catch (DeploymentException e) {
            throw new IllegalStateException(e);
        }
    }
}
