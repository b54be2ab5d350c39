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
        if (r.streams()) {
            exchange.getResponseHeaders().set("Content-Type", r.contentType);
            // This server's own encoding of a length: 0 asks for chunked framing, -1 for no body at all.
            long length = r.contentLength == Reply.UNKNOWN_LENGTH ? 0 : r.contentLength == 0 ? -1 : r.contentLength;
            exchange.sendResponseHeaders(r.status, length);
            try (OutputStream out = exchange.getResponseBody()) {
                r.streamed.writeTo(exchange.getRequestBody(), out);
            }
            return;
        }
        byte[] body = r.body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(r.status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
