package dev.lameduck.testapp.jetty;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/** Jetty 12 core handlers (no servlets): /async completes its callback later, from another thread. */
public final class CoreApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Server server = new Server();
        // HTTP/1.1 and cleartext HTTP/2 (prior knowledge or upgrade) on the same port.
        HttpConfiguration http = new HttpConfiguration();
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
        connector.setPort(Behaviour.port(args));
        server.addConnector(connector);
        ServerConnector tls = JettyTls.addTo(server, http);
        // Upgrades to /ws become the echo WebSocket; every other request goes on to the endpoints.
        WebSocketUpgradeHandler webSockets = WebSocketUpgradeHandler.from(server,
                container -> container.addMapping("/ws", (request, response, callback) -> new EchoSocket()));
        webSockets.setHandler(new EndpointHandler());
        server.setHandler(webSockets);
        server.setStopAtShutdown(true);
        server.start();
        JettyTls.listening(tls);
        Behaviour.listening(connector.getLocalPort());
        server.join();
    }

    static final class EndpointHandler extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String query = request.getHttpURI().getQuery();
            Reply reply = Behaviour.route(request.getMethod(), request.getHttpURI().getPath(), query);
            if (reply == null) {
                Behaviour.async(query, r -> write(response, callback, r));
            } else if (reply.streams()) {
                stream(request, response, callback, reply); // blocking is fine: Handler.Abstract is a BLOCKING handler
            } else {
                write(response, callback, reply);
            }
            return true;
        }

        private static void write(Response response, Callback callback, Reply reply) {
            response.setStatus(reply.status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType);
            response.write(true, StandardCharsets.UTF_8.encode(reply.body), callback);
        }

        private static void stream(Request request, Response response, Callback callback, Reply reply) {
            response.setStatus(reply.status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType);
            if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, reply.contentLength);
            }
            // The response as a sink writes each write at once; buffered as a servlet's output is, a short body
            // written without a flush goes out on close with a Content-Length (/upload's answer), as on the other servers.
            HttpConfiguration http = request.getConnectionMetaData().getHttpConfiguration();
            Content.Sink buffered = Content.Sink.asBuffered(response, request.getComponents().getByteBufferPool(),
                    http.isUseOutputDirectByteBuffers(), http.getOutputAggregationSize(), http.getOutputBufferSize());
            try (OutputStream out = Content.Sink.asOutputStream(buffered)) {
                reply.streamed.writeTo(Content.Source.asInputStream(request), out);
            } catch (IOException e) {
                callback.failed(e);
                return;
            }
            callback.succeeded();
        }
    }
}
