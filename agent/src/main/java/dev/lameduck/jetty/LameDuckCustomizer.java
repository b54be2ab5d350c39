package dev.lameduck.jetty;

import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Reflect;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.Function;

/**
 * The {@code HttpConfiguration.Customizer} that the lame duck adds to every connector. Each request whose
 * connection is told to go ({@link CloseRamp}) gets {@code Connection: close}, and its HTTP/1.1 response keeps
 * the framing it would have had; on HTTP/2 its connection gets a graceful GOAWAY instead (HPACK drops the
 * Connection header).
 *
 * <p>The framing: Jetty's {@code HttpGenerator} (9.4 to 12.1, {@code generateHeaders}) sends a non-persistent
 * HTTP/1.1 response of unknown length close-delimited (the body ends at EOF: wrk counts it an error, and a cut
 * looks complete) unless a {@code Transfer-Encoding: chunked} field is present; that field also wins over a
 * known length, so it is added at commit, and only when the length is still unknown at that point:
 * <ul>
 *   <li>9.4 to 11: an {@code HttpOutput.Interceptor} put in front for this request ({@code HttpOutput.recycle()}
 *       removes it after), on its first write that is not the last (a response finished in its first write
 *       gets its length from the generator);</li>
 *   <li>12.0 and 12.1: an {@code HttpStream} wrapper ({@code Request.addHttpStreamWrapper}) whose
 *       {@code prepareResponse} runs after Jetty has put the length it knows
 *       ({@code HttpChannelState.ChannelResponse.lockedPrepareResponse}).</li>
 * </ul>
 */
final class LameDuckCustomizer implements InvocationHandler {
    private static final String HTTP_1_1 = "HTTP/1.1";

    private final Class<?> interceptorType; // 9.4-11: HttpOutput.Interceptor; 12: null
    private final Class<?> streamType; // 12: HttpStream; 9.4-11: null

    // 9.4-11, per request
    private final Reflect.Call getHttpChannel = new Reflect.Call("getHttpChannel");
    private final Reflect.Call getConnection = new Reflect.Call("getConnection");
    private final Reflect.Call getResponse = new Reflect.Call("getResponse");
    private final Reflect.Call setHeader = new Reflect.Call("setHeader");
    private final Reflect.Call getHttpVersion = new Reflect.Call("getHttpVersion");
    private final Reflect.Call getMethod = new Reflect.Call("getMethod");
    private final Reflect.Call getHttpOutput = new Reflect.Call("getHttpOutput");
    private final Reflect.Call getInterceptor = new Reflect.Call("getInterceptor");
    private final Reflect.Call setInterceptor = new Reflect.Call("setInterceptor");
    private final Reflect.Call isCommitted = new Reflect.Call("isCommitted");
    private final Reflect.Call getHttpFields = new Reflect.Call("getHttpFields");
    private final Reflect.Call getRequest = new Reflect.Call("getRequest");
    private final Reflect.Call getState = new Reflect.Call("getState");
    private final Reflect.Call isIdle = new Reflect.Call("isIdle");
    // 12, per request
    private final Reflect.Call getConnectionMetaData = new Reflect.Call("getConnectionMetaData");
    private final Reflect.Call addHttpStreamWrapper = new Reflect.Call("addHttpStreamWrapper");
    // both
    private final Reflect.Call getField = new Reflect.Call("getField");
    private final Reflect.Call put = new Reflect.Call("put");

    /** The customizer as Jetty sees it: a {@code HttpConfiguration.Customizer} in its class loader. */
    final Object proxy;

    /** For {@code server}'s Jetty (relocated or not). */
    LameDuckCustomizer(Object server) throws ClassNotFoundException {
        Class<?> customizer = Reflect.sibling(server, JettySupport.SERVER, "org.eclipse.jetty.server.HttpConfiguration$Customizer");
        Class<?> interceptor = null;
        Class<?> stream = null;
        try {
            stream = Reflect.sibling(server, JettySupport.SERVER, "org.eclipse.jetty.server.HttpStream"); // 12.0+
        } catch (ClassNotFoundException e) {
            interceptor = Reflect.sibling(server, JettySupport.SERVER, "org.eclipse.jetty.server.HttpOutput$Interceptor"); // 9.4-11
        }
        this.interceptorType = interceptor;
        this.streamType = stream;
        this.proxy = Proxy.newProxyInstance(customizer.getClassLoader(), new Class<?>[] {customizer}, this);
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Exception {
        switch (method.getName()) {
            case "customize":
                if (args.length == 3) {
                    customize(args[2]); // 9.4-11: customize(Connector, HttpConfiguration, Request)
                    return null;
                }
                customize(args[0], args[1]); // 12.0+: Request customize(Request, HttpFields.Mutable responseHeaders)
                return args[0];
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            default:
                return "lameduck Connection: close";
        }
    }

    /** 9.4 to 11. */
    private void customize(Object request) throws Exception {
        Object connection = getConnection.on(getHttpChannel.on(request));
        if (CloseRamp.tells(connection) && !JettyHandle.goAway(connection)) {
            tell(request);
        }
    }

    /** 9.4 to 11: the request's response, not committed yet, gets Connection: close, keeping its framing. */
    private void tell(Object request) throws Exception {
        Object response = getResponse.on(request);
        setHeader.on(response, "Connection", "close");
        if (keepsFraming(getHttpVersion.on(request), getMethod.on(request))) {
            Object output = getHttpOutput.on(response);
            Object next = getInterceptor.on(output);
            setInterceptor.on(output, Proxy.newProxyInstance(interceptorType.getClassLoader(), new Class<?>[] {interceptorType},
                    new ChunkedUntilKnown(next, response)));
        }
    }

    /** 12.0 and 12.1. */
    private void customize(Object request, Object responseHeaders) throws Exception {
        Object metaData = getConnectionMetaData.on(request);
        Object connection = getConnection.on(metaData);
        if (!CloseRamp.tells(connection) || JettyHandle.goAway(connection)) {
            return;
        }
        put.on(responseHeaders, "Connection", "close");
        if (keepsFraming(getHttpVersion.on(metaData), getMethod.on(request))) {
            addHttpStreamWrapper.on(request, atCommit(false, true));
        }
    }

    /** 12: a wrapper of the request's stream that adds, as the response is prepared, Connection: close and the framing. */
    private Function<Object, Object> atCommit(boolean close, boolean chunked) {
        return stream -> Proxy.newProxyInstance(streamType.getClassLoader(), new Class<?>[] {streamType}, new AtCommit(stream, close, chunked));
    }

    /**
     * An HTTP/1 connection told while a request may be in flight on it: that request's response, if not committed
     * yet, gets {@code Connection: close} with its framing kept; an idle connection is told by the customizer at
     * its next request.
     * <ul>
     *   <li>12: a wrapper added to the connection's channel ({@code HttpChannelState.addHttpStreamWrapper}, safe
     *       from any thread; it throws when no request is active) whose {@code prepareResponse} adds both at the
     *       commit, on the committing thread, under Jetty's lock.</li>
     *   <li>9.4 to 11: what the customizer does, from this thread, to a response not committed yet (the app's
     *       thread is then inside the request, not setting up its response).</li>
     * </ul>
     */
    void tellInFlight(Object connection) {
        try {
            Object channel = getHttpChannel.on(connection);
            if (streamType != null) {
                Object metaData = getConnectionMetaData.on(channel);
                addHttpStreamWrapper.on(channel, atCommit(true, HTTP_1_1.equals(String.valueOf(getHttpVersion.on(metaData)))));
                return;
            }
            Object request = getRequest.on(channel);
            if (Boolean.FALSE.equals(isIdle.on(getState.on(channel))) && Boolean.FALSE.equals(isCommitted.on(getResponse.on(request)))) {
                tell(request);
            }
        } catch (Exception idleOrGone) {
            // no request in flight (12: "No active stream"), or the connection ended meanwhile
        }
    }

    /** HTTP/1.1 responses that may have a body framed by the server: not HEAD, not a CONNECT tunnel. */
    private static boolean keepsFraming(Object version, Object method) {
        return HTTP_1_1.equals(String.valueOf(version)) && !"HEAD".equals(method) && !"CONNECT".equals(method);
    }

    /** Adds {@code Transfer-Encoding: chunked} to {@code fields} unless a length or a transfer coding is there. */
    private void chunkedUnlessFramed(Object fields) throws Exception {
        if (getField.on(fields, "Content-Length") == null && getField.on(fields, "Transfer-Encoding") == null) {
            put.on(fields, "Transfer-Encoding", "chunked");
        }
    }

    /** 9.4 to 11: in front of the response's interceptors; looks at the first write only. */
    private final class ChunkedUntilKnown implements InvocationHandler {
        private final Object next;
        private final Object response;
        private boolean looked;

        ChunkedUntilKnown(Object next, Object response) {
            this.next = next;
            this.response = response;
        }

        @Override
        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            switch (method.getName()) {
                case "write": // write(ByteBuffer content, boolean last, Callback callback)
                    if (!looked) {
                        looked = true;
                        if (!(Boolean) args[1] && Boolean.FALSE.equals(isCommitted.on(response))) {
                            chunkedUnlessFramed(getHttpFields.on(response));
                        }
                    }
                    return Reflect.forward(method, next, args);
                case "getNextInterceptor":
                    return next;
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    return Reflect.forward(method, next, args);
            }
        }
    }

    /** 12.0 and 12.1: forwards every call to the request's stream, and adds what it must when the response is prepared. */
    private final class AtCommit implements InvocationHandler {
        private final Object stream;
        private final boolean close;
        private final boolean chunked;

        AtCommit(Object stream, boolean close, boolean chunked) {
            this.stream = stream;
            this.close = close;
            this.chunked = chunked;
        }

        @Override
        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            switch (method.getName()) {
                case "prepareResponse": // prepareResponse(HttpFields.Mutable headers)
                    Object result = Reflect.forward(method, stream, args);
                    if (close && getField.on(args[0], "Connection") == null) {
                        put.on(args[0], "Connection", "close");
                    }
                    if (chunked) {
                        chunkedUnlessFramed(args[0]);
                    }
                    return result;
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    return Reflect.forward(method, stream, args);
            }
        }
    }
}
