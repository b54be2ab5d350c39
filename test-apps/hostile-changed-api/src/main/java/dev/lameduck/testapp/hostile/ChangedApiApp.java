package dev.lameduck.testapp.hostile;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Server;

/** Serves the usual endpoints through a "server" whose API the agent does not know (see {@link Server}). */
public final class ChangedApiApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        HttpServer http = HttpServer.create(new InetSocketAddress(Behaviour.port(args)), 50);
        http.setExecutor(Executors.newCachedThreadPool());
        http.createContext("/", ChangedApiApp::serve);
        Server server = new Server(http);
        server.begin();
        Behaviour.listening(server.port());
    }

    private static void serve(HttpExchange exchange) throws java.io.IOException {
        Reply r = Behaviour.route(exchange.getRequestMethod(), exchange.getRequestURI().getPath(), exchange.getRequestURI().getQuery());
        if (r == null) {
            r = Behaviour.work(exchange.getRequestURI().getQuery());
        }
        byte[] body = r.body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(r.status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
