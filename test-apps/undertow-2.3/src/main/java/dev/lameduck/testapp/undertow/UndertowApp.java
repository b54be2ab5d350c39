package dev.lameduck.testapp.undertow;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import java.net.InetSocketAddress;

/** Undertow 2.2, 2.3 and 2.4 (undertow-core handlers): the same source builds the three apps. */
public final class UndertowApp {
    public static void main(String[] args) {
        Behaviour.installPool();
        Undertow server = Undertow.builder()
                .addHttpListener(Behaviour.port(args), "0.0.0.0")
                .setServerOption(UndertowOptions.ENABLE_HTTP2, true) // h2c: upgrade and prior knowledge
                .setHandler(new EndpointHandler())
                .build();
        server.start();
        Behaviour.listening(((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort());
    }

    static final class EndpointHandler implements HttpHandler {
        @Override
        public void handleRequest(HttpServerExchange exchange) {
            String path = exchange.getRequestPath();
            String query = exchange.getQueryString();
            if (path.equals("/async")) {
                // Leaves the I/O thread without a worker thread; the answer comes from the app's timer.
                exchange.dispatch(SameThreadExecutor.INSTANCE, () -> Behaviour.async(query, r -> write(exchange, r)));
                return;
            }
            if (exchange.isInIoThread()) {
                exchange.dispatch(this); // the endpoints block: run them on a worker thread
                return;
            }
            write(exchange, Behaviour.route(exchange.getRequestMethod().toString(), path, query));
        }

        private static void write(HttpServerExchange exchange, Reply reply) {
            exchange.setStatusCode(reply.status);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
            exchange.getResponseSender().send(reply.body);
        }
    }
}
