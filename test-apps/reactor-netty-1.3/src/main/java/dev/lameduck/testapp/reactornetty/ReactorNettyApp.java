package dev.lameduck.testapp.reactornetty;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.http.Http2SslContextSpec;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * Plain Reactor Netty 1.3 (what Spring WebFlux runs on): HTTP/1.1 and h2c, with a keystore also a TLS listener
 * (HTTP/1.1 and h2 by ALPN), a WebSocket at /ws. The endpoints block, so each runs on
 * Reactor's bounded elastic scheduler, never on an event loop; a streamed reply is a Flux of what the endpoint
 * flushes.
 */
public final class ReactorNettyApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        if (Behaviour.tlsKeystore() != null) {
            DisposableServer tls = HttpServer.create()
                    .host("0.0.0.0")
                    .port(0)
                    .secure(spec -> spec.sslContext(Http2SslContextSpec.forServer(tlsKeys())))
                    .protocol(HttpProtocol.HTTP11, HttpProtocol.H2) // chosen by ALPN
                    .handle(ReactorNettyApp::handle)
                    .bindNow();
            Behaviour.listeningTls(tls.port());
        }
        DisposableServer server = HttpServer.create()
                .host("0.0.0.0")
                .port(Behaviour.port(args))
                .protocol(HttpProtocol.HTTP11, HttpProtocol.H2C)
                .handle(ReactorNettyApp::handle)
                .bindNow();
        Behaviour.listening(server.port());
        server.onDispose().block();
    }

    private static javax.net.ssl.KeyManagerFactory tlsKeys() {
        try {
            return Behaviour.tlsKeyManagers();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Publisher<Void> handle(HttpServerRequest request, HttpServerResponse response) {
        String uri = request.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? null : uri.substring(q + 1);
        if (path.equals("/ws")) { // a WebSocket that answers each text message with the same text
            return response.sendWebsocket((in, out) -> out.sendString(in.receive().asString()));
        }
        if (path.equals("/async")) {
            return Mono.<Reply>create(sink -> Behaviour.async(query, sink::success)).flatMap(r -> send(response, r));
        }
        return Mono.fromCallable(() -> Behaviour.route(request.method().name(), path, query))
                .subscribeOn(Schedulers.boundedElastic())
                .flatMap(r -> r.streams() ? stream(request, response, r) : send(response, r));
    }

    private static Mono<Void> send(HttpServerResponse response, Reply reply) {
        return response.status(reply.status).header("content-type", reply.contentType).sendString(Mono.just(reply.body)).then();
    }

    /** The endpoint writes on an elastic thread; each flush (or 64 KiB) goes out as one element, flushed. */
    private static Mono<Void> stream(HttpServerRequest request, HttpServerResponse response, Reply reply) {
        response.status(reply.status).header("content-type", reply.contentType);
        if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
            response.header("content-length", Long.toString(reply.contentLength));
        }
        // The request body first (Reactor Netty answers Expect: 100-continue as it is asked for, if no response
        // has started), then the response.
        Mono<InputStream> body = request.receive().aggregate().asInputStream().defaultIfEmpty(new ByteArrayInputStream(new byte[0]));
        return body.flatMap(in -> response.send(Flux.<ByteBuf>create(sink -> {
            try (OutputStream out = new Behaviour.BufferedBody(bytes -> sink.next(Unpooled.wrappedBuffer(bytes)), sink::isCancelled)) {
                reply.streamed.writeTo(in, out);
            } catch (IOException e) {
                // the client is gone: the stream is over
            }
            sink.complete();
        }).subscribeOn(Schedulers.boundedElastic()), chunk -> true).then());
    }
}
