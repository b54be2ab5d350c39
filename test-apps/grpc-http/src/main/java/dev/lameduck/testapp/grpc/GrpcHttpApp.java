package dev.lameduck.testapp.grpc;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.grpc.Server;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.BlockingHandler;
import io.undertow.server.handlers.HttpContinueReadHandler;
import io.undertow.util.Headers;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;

/** An HTTP server and a gRPC server side by side: prints {@code listening on HTTP_PORT} and {@code grpc port GRPC_PORT}. */
public final class GrpcHttpApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Server grpc = GrpcApp.start(0);
        System.out.println("grpc port " + grpc.getPort());
        Behaviour.startingAnotherServer();
        Undertow http = Undertow.builder()
                .addHttpListener(Behaviour.port(args), "0.0.0.0")
                // Undertow's core answers Expect: 100-continue only through this wrapper (its servlet layer adds it itself).
                .setHandler(new HttpContinueReadHandler(new BlockingHandler(GrpcHttpApp::serve)))
                .build();
        http.start();
        Behaviour.listening(((InetSocketAddress) http.getListenerInfo().get(0).getAddress()).getPort());
        grpc.awaitTermination();
    }

    /** On a worker thread, in blocking mode (BlockingHandler), which ends the exchange when this returns. */
    private static void serve(HttpServerExchange exchange) throws IOException {
        Reply r = Behaviour.route(exchange.getRequestMethod().toString(), exchange.getRequestPath(), exchange.getQueryString());
        if (r == null) {
            r = Behaviour.work(exchange.getQueryString()); // /async as a blocking wait: the async API is not what this app is about
        }
        exchange.setStatusCode(r.status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, r.contentType);
        if (!r.streams()) {
            exchange.getResponseSender().send(r.body);
            return;
        }
        if (r.contentLength != Reply.UNKNOWN_LENGTH) {
            exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, r.contentLength);
        }
        // Closing sends what is still buffered, with a Content-Length when nothing was flushed (/upload's answer).
        try (OutputStream out = exchange.getOutputStream()) {
            r.streamed.writeTo(exchange.getInputStream(), out);
        }
    }
}
