package dev.lameduck.netty;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;

/**
 * The Netty types and methods the agent uses, of one Netty (its class loader, relocated or not), looked up once.
 * The HTTP ones are null where netty-codec-http (or -http2, or netty-handler's TLS) is absent: a TCP server of
 * another protocol gets the lame duck and the stop of accepting only.
 */
final class NettyTypes {
    final String prefix;
    final ClassLoader loader;
    final Class<?> channel;
    final Class<?> serverChannel;
    final Class<?> inboundHandler;
    final Class<?> duplexHandler;
    final Class<?> request;
    final Class<?> response;
    final Class<?> content;
    final Class<?> lastContent;
    /** What marks a pipeline as HTTP/1: the combined codec, or a decoder and encoder of its own (Vert.x's extend these). */
    final Class<?>[] http1Codecs;
    final Class<?> http2Handler;
    final Class<?> sslHandler;
    private final Method status;
    private final Method code;
    private final Method headers;
    private final Method set;
    private final Method release;
    private final Constructor<?> fullResponse;
    private final Object http11;
    private final Object serviceUnavailable;

    /** @param abstractChannel {@code io.netty.channel.AbstractChannel}, relocated or not */
    NettyTypes(Class<?> abstractChannel) throws Exception {
        String name = abstractChannel.getName();
        prefix = name.substring(0, name.length() - "io.netty.channel.AbstractChannel".length());
        loader = abstractChannel.getClassLoader();
        channel = load("io.netty.channel.Channel");
        serverChannel = load("io.netty.channel.ServerChannel");
        inboundHandler = load("io.netty.channel.ChannelInboundHandler");
        duplexHandler = load("io.netty.channel.ChannelDuplexHandler");
        request = optional("io.netty.handler.codec.http.HttpRequest");
        response = optional("io.netty.handler.codec.http.HttpResponse");
        content = optional("io.netty.handler.codec.http.HttpContent");
        lastContent = optional("io.netty.handler.codec.http.LastHttpContent");
        http1Codecs = new Class<?>[] {optional("io.netty.handler.codec.http.HttpServerCodec"),
            optional("io.netty.handler.codec.http.HttpRequestDecoder"), optional("io.netty.handler.codec.http.HttpResponseEncoder")};
        http2Handler = optional("io.netty.handler.codec.http2.Http2ConnectionHandler");
        sslHandler = optional("io.netty.handler.ssl.SslHandler");
        Class<?> message = optional("io.netty.handler.codec.http.HttpMessage");
        Class<?> statusType = optional("io.netty.handler.codec.http.HttpResponseStatus");
        Class<?> headersType = optional("io.netty.handler.codec.http.HttpHeaders");
        Class<?> version = optional("io.netty.handler.codec.http.HttpVersion");
        Class<?> full = optional("io.netty.handler.codec.http.DefaultFullHttpResponse");
        boolean http = response != null && message != null && statusType != null && headersType != null && version != null && full != null;
        status = http ? response.getMethod("status") : null;
        code = http ? statusType.getMethod("code") : null;
        headers = http ? message.getMethod("headers") : null;
        set = http ? headersType.getMethod("set", String.class, Object.class) : null;
        fullResponse = http ? full.getConstructor(version, statusType) : null;
        http11 = http ? version.getField("HTTP_1_1").get(null) : null;
        serviceUnavailable = http ? statusType.getField("SERVICE_UNAVAILABLE").get(null) : null;
        release = load("io.netty.util.ReferenceCountUtil").getMethod("release", Object.class);
    }

    boolean speaksHttp() {
        return request != null && status != null;
    }

    private Class<?> load(String unrelocated) throws ClassNotFoundException {
        return Class.forName(prefix + unrelocated, false, loader);
    }

    private Class<?> optional(String unrelocated) {
        try {
            return load(unrelocated);
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
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

    void release(Object message) {
        try {
            release.invoke(null, message);
        } catch (Exception ignored) {
            // not reference-counted, or released already
        }
    }
}
