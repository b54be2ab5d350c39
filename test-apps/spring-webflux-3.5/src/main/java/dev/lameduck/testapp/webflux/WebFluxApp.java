package dev.lameduck.testapp.webflux;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.Behaviour.Reply;
import jakarta.annotation.PreDestroy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.reactive.context.ReactiveWebServerApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The endpoints in a Spring Boot 3.5 WebFlux app (Reactor Netty 1.2 on Netty 4.1): one functional route for every
 * path, the blocking endpoints on Reactor's bounded elastic scheduler, the pool a bean closed by @PreDestroy.
 */
@SpringBootApplication
public class WebFluxApp {
    public static void main(String[] args) {
        SpringApplication app = new SpringApplication(WebFluxApp.class);
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", Behaviour.port(args));
        props.put("server.shutdown", "graceful"); // Spring's own graceful mode
        props.put("spring.main.banner-mode", "off");
        app.setDefaultProperties(props);
        ReactiveWebServerApplicationContext context = (ReactiveWebServerApplicationContext) app.run();
        Behaviour.listening(context.getWebServer().getPort());
    }

    @Bean
    RouterFunction<ServerResponse> endpoints() {
        return RouterFunctions.route(RequestPredicates.all(), WebFluxApp::handle);
    }

    private static Mono<ServerResponse> handle(ServerRequest request) {
        String path = request.path();
        String query = request.uri().getRawQuery();
        if (path.equals("/async")) {
            return Mono.<Reply>create(sink -> Behaviour.async(query, sink::success)).flatMap(WebFluxApp::send);
        }
        String method = request.method().name();
        // The body first (Reactor Netty answers Expect: 100-continue as it is asked for), then the endpoint.
        return request.bodyToMono(byte[].class).defaultIfEmpty(new byte[0])
                .flatMap(body -> Mono.fromCallable(() -> Behaviour.route(method, path, query)).subscribeOn(Schedulers.boundedElastic())
                        .flatMap(reply -> reply.streams() ? stream(reply, body) : send(reply)));
    }

    private static Mono<ServerResponse> send(Reply reply) {
        return ServerResponse.status(reply.status).contentType(MediaType.parseMediaType(reply.contentType)).bodyValue(reply.body);
    }

    private static Mono<ServerResponse> stream(Reply reply, byte[] body) {
        ServerResponse.BodyBuilder response = ServerResponse.status(reply.status).contentType(MediaType.parseMediaType(reply.contentType));
        if (reply.contentLength != Reply.UNKNOWN_LENGTH) {
            response.contentLength(reply.contentLength);
        }
        Flux<DataBuffer> chunks = Flux.<DataBuffer>create(sink -> {
            try (OutputStream out = new Behaviour.BufferedBody(bytes -> sink.next(DefaultDataBufferFactory.sharedInstance.wrap(bytes)), sink::isCancelled)) {
                reply.streamed.writeTo(new ByteArrayInputStream(body), out);
            } catch (IOException e) {
                // the client is gone: the stream is over
            }
            sink.complete();
        }).subscribeOn(Schedulers.boundedElastic());
        return response.body(BodyInserters.fromDataBuffers(chunks));
    }


    /** What a DataSource pool is to a real app: closed when Spring's shutdown hook closes the context. */
    @Component
    static class Pool {
        @PreDestroy
        void close() {
            Behaviour.closePool();
        }
    }
}
