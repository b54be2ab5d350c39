package dev.lameduck.testapp.undertow;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.HttpContinueReadHandler;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;

/** Undertow 2.2, 2.3 and 2.4 (undertow-core handlers): the same source builds the three apps. */
public final class UndertowApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Undertow.Builder builder = Undertow.builder();
        if (Behaviour.tlsKeystore() != null) {
            builder.addHttpsListener(0, "0.0.0.0", Behaviour.tlsContext()); // HTTP/1.1, and HTTP/2 by ALPN
        }
        Undertow server = builder
                .addHttpListener(Behaviour.port(args), "0.0.0.0")
                .setServerOption(UndertowOptions.ENABLE_HTTP2, true) // h2c: upgrade and prior knowledge
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, 64L << 20) // uploads of a few MB (UndertowOptions.DEFAULT_MAX_ENTITY_SIZE is 2 MB)
                // Undertow's core answers Expect: 100-continue only through this wrapper (its servlet layer adds it itself).
                .setHandler(Handlers.path(new HttpContinueReadHandler(new EndpointHandler()))
                        .addExactPath("/ws", echoWebSocket()))
                .build();
        server.start();
        for (Undertow.ListenerInfo listener : server.getListenerInfo()) {
            if (listener.getProtcol().equals("https")) {
                Behaviour.listeningTls(((InetSocketAddress) listener.getAddress()).getPort());
            }
        }
        for (Undertow.ListenerInfo listener : server.getListenerInfo()) {
            if (listener.getProtcol().equals("http")) {
                Behaviour.listening(((InetSocketAddress) listener.getAddress()).getPort());
            }
        }
    }

    /** The WebSocket at /ws: answers each text message with the same text. */
    private static HttpHandler echoWebSocket() {
        return Handlers.websocket((exchange, channel) -> {
            channel.getReceiveSetter().set(new AbstractReceiveListener() {
                @Override
                protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
                    WebSockets.sendText(message.getData(), ch, null);
                }
            });
            channel.resumeReceives();
        });
    }

    static final class EndpointHandler implements HttpHandler {
        @Override
        public void handleRequest(HttpServerExchange exchange) throws IOException {
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
            Reply reply = Behaviour.route(exchange.getRequestMethod().toString(), path, query);
            if (reply.streams()) {
                stream(exchange, reply);
            } else {
                write(exchange, reply);
            }
        }

        private static void write(HttpServerExchange exchange, Reply reply) {
            exchange.setStatusCode(reply.status);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, reply.contentType);
            exchange.getResponseSender().send(reply.body);
        }

        /** Streams on the worker thread through the exchange's blocking streams. */
        static void stream(HttpServerExchange exchange, Reply reply) throws IOException {
            exchange.setStatusCode(reply.status);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, reply.contentType);
            if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
                exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, reply.contentLength);
            }
            exchange.startBlocking();
            // Closing sends what is still buffered, with a Content-Length when nothing was flushed (/upload's answer).
            try (OutputStream out = exchange.getOutputStream()) {
                reply.streamed.writeTo(exchange.getInputStream(), out);
            } finally {
                exchange.endExchange();
            }
        }
    }
}
