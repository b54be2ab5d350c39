package dev.lameduck.testapp.vertx;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.net.KeyStoreOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Plain Vert.x 5 core (what Quarkus runs on): HTTP/1.1 and h2c, with a keystore also a TLS listener (h2 by ALPN), a
 * WebSocket at /ws. The endpoints block, so each runs on a worker thread ({@code executeBlocking}), never on an
 * event loop; the request body is read first.
 */
public final class VertxApp {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Vertx vertx = Vertx.vertx();
        if (Behaviour.tlsKeystore() != null) {
            HttpServerOptions tls = new HttpServerOptions().setSsl(true).setUseAlpn(true).setHandle100ContinueAutomatically(true)
                    .setKeyCertOptions(new KeyStoreOptions().setType("PKCS12").setPath(Behaviour.tlsKeystore()).setPassword(Behaviour.TLS_PASSWORD));
            HttpServer server = vertx.createHttpServer(tls).requestHandler(r -> handle(vertx, r)).webSocketHandler(VertxApp::echo);
            server.listen(0, "0.0.0.0").toCompletionStage().toCompletableFuture().get();
            Behaviour.listeningTls(server.actualPort());
        }
        HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHandle100ContinueAutomatically(true))
                .requestHandler(r -> handle(vertx, r)).webSocketHandler(VertxApp::echo);
        server.listen(Behaviour.port(args), "0.0.0.0").toCompletionStage().toCompletableFuture().get();
        Behaviour.listening(server.actualPort());
    }

    /** The WebSocket at /ws: answers each text message with the same text. */
    private static void echo(ServerWebSocket ws) {
        ws.textMessageHandler(ws::writeTextMessage);
    }

    private static void handle(Vertx vertx, HttpServerRequest request) {
        String path = request.path();
        String query = request.query();
        HttpServerResponse response = request.response();
        if (path.equals("/async")) {
            Behaviour.async(query, r -> send(response, r));
            return;
        }
        String method = request.method().name();
        request.body().onSuccess(body -> vertx.executeBlocking(() -> {
            Reply reply = Behaviour.route(method, path, query);
            if (reply.streams()) {
                stream(response, reply, body);
            } else {
                send(response, reply);
            }
            return null;
        }, false));
    }

    private static void send(HttpServerResponse response, Reply reply) {
        response.setStatusCode(reply.status).putHeader("content-type", reply.contentType).end(reply.body);
    }

    /** On a worker thread: each flush (or 64 KiB) is written at once; the response is chunked unless its length is known. */
    private static void stream(HttpServerResponse response, Reply reply, Buffer body) {
        response.setStatusCode(reply.status).putHeader("content-type", reply.contentType);
        if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
            response.putHeader("content-length", Long.toString(reply.contentLength));
        } else {
            response.setChunked(true);
        }
        try (OutputStream out = new Behaviour.BufferedBody(bytes -> response.write(Buffer.buffer(bytes)), response::closed)) {
            reply.streamed.writeTo(new ByteArrayInputStream(body.getBytes()), out);
        } catch (IOException e) {
            return; // the client is gone
        }
        response.end();
    }
}
