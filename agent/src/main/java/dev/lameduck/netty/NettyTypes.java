package dev.lameduck.netty;

import dev.lameduck.server.Servers;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;

/**
 * The Netty types and methods the agent uses, of one Netty (its class loader, relocated or not), looked up once:
 * the transport's as the listener binds (that runs before the application learns it listens, so it is kept short),
 * the HTTP ones ({@link Http}) at the first connection. Those are absent where netty-codec-http is: a TCP server of
 * another protocol gets the lame duck and the stop of accepting only.
 */
final class NettyTypes {
    final String prefix;
    final ClassLoader loader;
    final Class<?> channel;
    final Class<?> serverChannel;
    final Class<?> inboundHandler;
    final Class<?> duplexHandler;
    private volatile Http http;
    private volatile boolean httpLooked;

    /** @param abstractChannel {@code io.netty.channel.AbstractChannel}, relocated or not */
    NettyTypes(Class<?> abstractChannel) throws Exception {
        String name = abstractChannel.getName();
        prefix = name.substring(0, name.length() - "io.netty.channel.AbstractChannel".length());
        loader = abstractChannel.getClassLoader();
        channel = load("io.netty.channel.Channel");
        serverChannel = load("io.netty.channel.ServerChannel");
        inboundHandler = load("io.netty.channel.ChannelInboundHandler");
        duplexHandler = load("io.netty.channel.ChannelDuplexHandler");
    }

    /** Netty's version: its transport jar's manifest, else 4.2 ({@code io.netty.channel.IoHandler} came with it) or 4.1. */
    String version() {
        Package p = channel.getPackage();
        String v = p != null ? p.getImplementationVersion() : null;
        return v != null ? v : optional("io.netty.channel.IoHandler") != null ? "4.2" : "4.1";
    }

    /** The HTTP types, or null without netty-codec-http. */
    Http http() {
        if (!httpLooked) {
            synchronized (this) {
                if (!httpLooked) {
                    try {
                        http = optional("io.netty.handler.codec.http.HttpRequest") != null ? new Http() : null;
                    } catch (Exception | LinkageError e) {
                        http = null;
                    }
                    httpLooked = true;
                }
            }
        }
        return http;
    }

    Class<?> load(String unrelocated) throws ClassNotFoundException {
        return Class.forName(prefix + unrelocated, false, loader);
    }

    Class<?> optional(String unrelocated) {
        try {
            return load(unrelocated);
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /** netty-codec-http's types (and -http2's, netty-handler's TLS, where present). */
    final class Http {
        final Class<?> request = load("io.netty.handler.codec.http.HttpRequest");
        final Class<?> response = load("io.netty.handler.codec.http.HttpResponse");
        final Class<?> content = load("io.netty.handler.codec.http.HttpContent");
        final Class<?> lastContent = load("io.netty.handler.codec.http.LastHttpContent");
        /** What marks a pipeline as HTTP/1: the combined codec, or a decoder and encoder of its own (Vert.x's extend these). */
        final Class<?>[] http1Codecs = {load("io.netty.handler.codec.http.HttpServerCodec"),
            load("io.netty.handler.codec.http.HttpRequestDecoder"), load("io.netty.handler.codec.http.HttpResponseEncoder")};
        final Class<?> http2Handler = optional("io.netty.handler.codec.http2.Http2ConnectionHandler");
        final Class<?> sslHandler = optional("io.netty.handler.ssl.SslHandler");
        final Class<?> webSocketEncoder = optional("io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder");
        private final Method status = response.getMethod("status");
        private final Method code = load("io.netty.handler.codec.http.HttpResponseStatus").getMethod("code");
        private final Method headers = load("io.netty.handler.codec.http.HttpMessage").getMethod("headers");
        private final Method set = load("io.netty.handler.codec.http.HttpHeaders").getMethod("set", String.class, Object.class);
        private final Method release = load("io.netty.util.ReferenceCountUtil").getMethod("release", Object.class);
        private final Constructor<?> fullResponse = load("io.netty.handler.codec.http.DefaultFullHttpResponse")
                .getConstructor(load("io.netty.handler.codec.http.HttpVersion"), load("io.netty.handler.codec.http.HttpResponseStatus"));
        private final Object http11 = load("io.netty.handler.codec.http.HttpVersion").getField("HTTP_1_1").get(null);
        private final Object serviceUnavailable = load("io.netty.handler.codec.http.HttpResponseStatus").getField("SERVICE_UNAVAILABLE").get(null);
        private final Constructor<?> closeFrame = webSocketEncoder == null ? null
                : load("io.netty.handler.codec.http.websocketx.CloseWebSocketFrame").getConstructor(int.class, String.class);

        Http() throws Exception {}

        boolean isHttp1Codec(Object handler) {
            for (Class<?> codec : http1Codecs) {
                if (codec.isInstance(handler)) {
                    return true;
                }
            }
            return false;
        }

        /** A response's status code; 200 when it cannot be read (then it is treated as a final response). */
        int status(Object response) {
            try {
                return (Integer) code.invoke(status.invoke(response));
            } catch (Exception e) {
                return 200;
            }
        }

        void closeAfter(Object response) throws Exception {
            set.invoke(headers.invoke(response), "connection", "close");
        }

        /** An empty 503 that closes its connection. */
        Object notReady() throws Exception {
            Object answer = fullResponse.newInstance(http11, serviceUnavailable);
            Object h = headers.invoke(answer);
            set.invoke(h, "content-length", "0");
            set.invoke(h, "connection", "close");
            return answer;
        }

        /** A WebSocket close frame 1001 (Going Away). */
        Object goingAway() throws Exception {
            return closeFrame.newInstance(Servers.GOING_AWAY, Servers.GOING_AWAY_REASON);
        }

        void release(Object message) {
            try {
                release.invoke(null, message);
            } catch (Exception ignored) {
                // not reference-counted, or released already
            }
        }
    }
}
