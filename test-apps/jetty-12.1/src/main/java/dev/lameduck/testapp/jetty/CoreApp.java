package dev.lameduck.testapp.jetty;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

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
        server.setHandler(new EndpointHandler());
        server.setStopAtShutdown(true);
        server.start();
        Behaviour.listening(connector.getLocalPort());
        server.join();
    }

    static final class EndpointHandler extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String query = request.getHttpURI().getQuery();
            Reply reply = Behaviour.route(request.getMethod(), request.getHttpURI().getPath(), query);
            if (reply != null) {
                write(response, callback, reply);
            } else {
                Behaviour.async(query, r -> write(response, callback, r));
            }
            return true;
        }

        private static void write(Response response, Callback callback, Reply reply) {
            response.setStatus(reply.status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
            response.write(true, java.nio.charset.StandardCharsets.UTF_8.encode(reply.body), callback);
        }
    }
}
