package dev.lameduck.netty;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Drives one listening Netty channel (4.1, 4.2; Reactor Netty, Vert.x and the others that build on it) through
 * Netty's own API. Netty keeps no list of a server's connections nor of its requests, so the agent keeps them:
 * <ul>
 *   <li>An inbound handler first in the listening channel's pipeline sees each accepted connection (its
 *       {@code channelRead}, before the acceptor registers it), adds it to {@link #connections}, and gives it an
 *       installer that, once the connection's own initializer has built its pipeline (or its TLS handshake chose
 *       the protocol), puts the {@link HttpObserverClass observer} right after the HTTP/1 codec, or notes the
 *       HTTP/2 handler ({@code Http2ConnectionHandler}, every Netty HTTP/2 server's).</li>
 *   <li>In flight: HTTP/1 requests read and not answered in full, and each HTTP/2 connection's active streams.</li>
 *   <li>Lame duck: a response's head gets {@code Connection: close} once the ramp has passed its connection, which
 *       closes after that response; an HTTP/2 connection gets a graceful GOAWAY (last stream id 2^31-1: streams in
 *       flight run on) as the ramp passes it. Readiness paths are answered 503 by the observer.</li>
 *   <li>Stop accepting: the listening channel is closed; open connections keep being served. The event loop groups
 *       are left alone: shutting them down closes every channel at once (netty#3699).</li>
 *   <li>Stop: every connection left is closed.</li>
 * </ul>
 */
final class NettyHandle implements ServerHandle {
    private static final long GOAWAY_EVERY_MILLIS = 50;
    private static final long CLOSE_WAIT_MILLIS = 1000;
    /** Reads an installer waits for an HTTP codec to appear before it takes the connection for another protocol's. */
    private static final int INSTALL_READS = 16;

    private final NettyTypes types;
    private final Object listener;
    private final String description;
    private final String ports;
    final LongAdder completed = new LongAdder();
    private final Map<Object, NettyConnection> connections = new ConcurrentHashMap<>();
    private final Map<String, Reflect.Call> forwards = new ConcurrentHashMap<>();
    volatile boolean lameDuck;
    private volatile boolean accepting = true;

    private NettyHandle(NettyTypes types, Object listener, String description, String ports) {
        this.types = types;
        this.listener = listener;
        this.description = description;
        this.ports = ports;
    }

    /**
     * For a channel just bound ({@code AbstractUnsafe.bind}'s exit, on its event loop): a handle if it is a server's
     * listening channel now active, else null (a client's or a datagram channel, a failed bind, grpc-java's own).
     */
    static NettyHandle prepare(Object unsafe) throws Exception {
        Object channel = Reflect.field(unsafe, "this$0");
        Class<?> abstractChannel = channel == null ? null : superclassNamed(channel.getClass(), "io.netty.channel.AbstractChannel");
        if (abstractChannel == null) {
            return null;
        }
        NettyTypes types = new NettyTypes(abstractChannel);
        if (!types.serverChannel.isInstance(channel) || !Boolean.TRUE.equals(tryCall(channel, "isActive")) || isGrpc(types, channel)) {
            return null;
        }
        Object address = tryCall(channel, "localAddress");
        String ports = address instanceof InetSocketAddress ? ":" + ((InetSocketAddress) address).getPort() : String.valueOf(address);
        NettyHandle handle = new NettyHandle(types, channel, "netty " + version(types) + framework(channel), ports);
        Object pipeline = Reflect.call(channel, "pipeline");
        Reflect.call(pipeline, "addFirst", "lameduck-accept", handle.inbound(handle::acceptEvent));
        return handle;
    }

    private static Class<?> superclassNamed(Class<?> type, String name) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            if (c.getName().endsWith(name)) {
                return c;
            }
        }
        return null;
    }

    /** grpc-java's Netty servers (netty-shaded is relocated under io.grpc, plain netty's child handler is grpc's) are the gRPC support's. */
    private static boolean isGrpc(NettyTypes types, Object channel) throws Exception {
        if (types.prefix.startsWith("io.grpc.")) {
            return true;
        }
        for (Object entry : (Iterable<?>) Reflect.call(channel, "pipeline")) {
            Object handler = ((Map.Entry<?, ?>) entry).getValue();
            Object child = Reflect.field(handler, "childHandler");
            if (handler.getClass().getName().startsWith("io.grpc.") || (child != null && child.getClass().getName().startsWith("io.grpc."))) {
                return true;
            }
        }
        return false;
    }

    /** Netty's own version of its transport ({@code io.netty.util.Version.identify()}, from the jars' properties files). */
    private static String version(NettyTypes types) {
        try {
            Object versions = Class.forName(types.prefix + "io.netty.util.Version", false, types.loader).getMethod("identify").invoke(null);
            Object transport = ((Map<?, ?>) versions).get("netty-transport");
            if (transport == null && !((Map<?, ?>) versions).isEmpty()) {
                transport = ((Map<?, ?>) versions).values().iterator().next(); // a shaded jar may keep one module's entry only
            }
            Object v = tryCall(transport, "artifactVersion");
            return v != null ? v.toString() : "4.x";
        } catch (Exception e) {
            return "4.x";
        }
    }

    /** The framework on top, for the log: whose acceptor or child handler is in the listening pipeline. */
    private static String framework(Object channel) {
        StringBuilder names = new StringBuilder();
        Object pipeline = tryCall(channel, "pipeline");
        if (pipeline instanceof Iterable) {
            for (Object entry : (Iterable<?>) pipeline) {
                Object handler = ((Map.Entry<?, ?>) entry).getValue();
                names.append(handler.getClass().getName()).append(' ');
                Object child = Reflect.field(handler, "childHandler");
                names.append(child != null ? child.getClass().getName() : "").append(' ');
            }
        }
        String all = names.toString();
        for (String[] known : new String[][] {{"reactor.netty.", "reactor-netty"}, {"io.vertx.", "vert.x"}, {"io.micronaut.", "micronaut"},
            {"io.ktor.", "ktor"}, {"com.linecorp.armeria.", "armeria"}}) {
            if (all.contains(known[0])) {
                return "/" + known[1]; // one word: "netty 4.2.17.Final/reactor-netty on :8080"
            }
        }
        return "";
    }

    /** An inbound handler whose events go to {@code events} and, unless it says otherwise, on down the pipeline. */
    private Object inbound(InboundEvents events) {
        InvocationHandler h = (proxy, method, args) -> {
            switch (method.getName()) {
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                case "toString":
                    return "lameduck";
                case "handlerAdded":
                case "handlerRemoved":
                    return null;
                default:
                    if (events.on(method.getName(), args)) {
                        forward(method.getName(), args);
                    }
                    return null;
            }
        };
        return Proxy.newProxyInstance(types.loader, new Class<?>[] {types.inboundHandler}, h);
    }

    /** An inbound event passed on: {@code channelRead(ctx, msg)} as {@code ctx.fireChannelRead(msg)}, and so on. */
    private void forward(String event, Object[] args) throws Exception {
        String fire = "fire" + Character.toUpperCase(event.charAt(0)) + event.substring(1);
        Object[] rest = new Object[args.length - 1];
        System.arraycopy(args, 1, rest, 0, rest.length);
        forwards.computeIfAbsent(fire, Reflect.Call::new).on(args[0], rest);
    }

    private interface InboundEvents {
        /** True when the event is to go on down the pipeline. */
        boolean on(String event, Object[] args) throws Exception;
    }

    /** The listening channel's events: each accepted connection (a channel read) is noted and given an installer. */
    private boolean acceptEvent(String event, Object[] args) throws Exception {
        if (event.equals("channelRead") && types.channel.isInstance(args[1])) {
            Object child = args[1];
            NettyConnection c = new NettyConnection(this, types, child);
            connections.put(child, c);
            int[] reads = {0};
            Object installer = inbound((e, a) -> installEvent(c, reads, e, a));
            Reflect.call(Reflect.call(child, "pipeline"), "addLast", "lameduck-install", installer);
        }
        return true;
    }

    /**
     * A new connection's events until its pipeline shows its protocol. The connection's initializer (added after
     * the installer, by the acceptor) builds the pipeline as the connection registers; with TLS the HTTP codec comes
     * once the handshake chose the protocol (ALPN), so the installer then moves after the TLS handler, where it sees
     * that choice's event, and each decrypted read before the codec does.
     */
    private boolean installEvent(NettyConnection c, int[] reads, String event, Object[] args) throws Exception {
        Object ctx = args[0];
        if (c.settled) {
            return true;
        }
        if (event.equals("channelInactive")) {
            closed(c);
            return true;
        }
        boolean read = event.equals("channelRead");
        if (read && (install(c, ctx) || ++reads[0] > INSTALL_READS)) {
            settle(c, ctx);
            return true;
        }
        if (!read) {
            forward(event, args);
            if (install(c, ctx)) {
                settle(c, ctx);
            }
            return false;
        }
        return true;
    }

    private void settle(NettyConnection c, Object ctx) throws Exception {
        c.settled = true;
        Reflect.call(Reflect.call(ctx, "pipeline"), "remove", Reflect.call(ctx, "handler"));
    }

    /**
     * Puts the observer after the HTTP/1 codec (after the last of a decoder and encoder pair), or notes the HTTP/2
     * handler; true when done. With a TLS handler after the installer and no codec yet, moves the installer after it.
     */
    private boolean install(NettyConnection c, Object ctx) throws Exception {
        Object pipeline = Reflect.call(ctx, "pipeline");
        String codec = null;
        String tls = null;
        boolean afterMe = false;
        Object self = Reflect.call(ctx, "handler");
        for (Object entry : (Iterable<?>) pipeline) {
            Object handler = ((Map.Entry<?, ?>) entry).getValue();
            String name = (String) ((Map.Entry<?, ?>) entry).getKey();
            if (handler == self) {
                afterMe = true;
            } else if (isHttp1Codec(handler)) {
                codec = name;
            } else if (types.http2Handler != null && types.http2Handler.isInstance(handler)) {
                c.http2 = handler;
            } else if (afterMe && tls == null && types.sslHandler != null && types.sslHandler.isInstance(handler)) {
                tls = name;
            }
        }
        if (codec != null && types.speaksHttp()) {
            Object observer = HttpObserverClass.of(types.duplexHandler).getConstructor(Object.class).newInstance(c);
            Reflect.call(pipeline, "addAfter", codec, "lameduck-http", observer);
            return true;
        }
        if (c.http2 != null) {
            return true;
        }
        if (tls != null) {
            Reflect.call(pipeline, "remove", self);
            Reflect.call(pipeline, "addAfter", tls, "lameduck-install", self);
        }
        return false;
    }

    private boolean isHttp1Codec(Object handler) {
        for (Class<?> codec : types.http1Codecs) {
            if (codec != null && codec.isInstance(handler)) {
                return true;
            }
        }
        return false;
    }

    void closed(NettyConnection c) {
        connections.remove(c.channel);
    }

    /** In the lame duck, a request for a readiness path: answered 503 here, its connection closed after. */
    boolean answeredNotReady(Object ctx, Object request) {
        try {
            String uri = String.valueOf(Reflect.call(request, "uri"));
            int query = uri.indexOf('?');
            if (!Readiness.refuses(query < 0 ? uri : uri.substring(0, query))) {
                return false;
            }
            types.release(request);
            Object written = Reflect.call(ctx, "writeAndFlush", types.notReady());
            Reflect.call(written, "addListener", Class.forName(types.prefix + "io.netty.channel.ChannelFutureListener", false, types.loader)
                    .getField("CLOSE").get(null));
            return true;
        } catch (Exception e) {
            Log.debug("readiness answer on %s: %s", description, e);
            return false;
        }
    }

    @Override
    public String describe() {
        return description + " on " + ports;
    }

    @Override
    public String ports() {
        return ports;
    }

    @Override
    public void lameDuck() {
        lameDuck = true;
        goAwayAsTold();
        Servers.repeat("lameduck-netty-goaway", GOAWAY_EVERY_MILLIS, () -> accepting, this::goAwayAsTold);
    }

    /** Each HTTP/2 connection the ramp has passed gets its graceful GOAWAY, once, on its event loop. */
    private void goAwayAsTold() {
        for (NettyConnection c : connections.values()) {
            if (!c.wentAway && http2(c) != null && CloseRamp.tells(c.channel)) {
                c.wentAway = true;
                goAway(c);
            }
        }
    }

    /** The connection's HTTP/2 handler, looked for again while none is known (h2c with prior knowledge comes late). */
    private Object http2(NettyConnection c) {
        if (c.http2 == null && types.http2Handler != null) {
            c.http2 = tryCall(tryCall(c.channel, "pipeline"), "get", types.http2Handler);
        }
        return c.http2;
    }

    /** {@code goAway(ctx, 2^31-1, NO_ERROR, empty, promise)}: streams in flight run on, the client opens no new one. */
    private void goAway(NettyConnection c) {
        Object loop = tryCall(c.channel, "eventLoop");
        if (!(loop instanceof Executor)) {
            return;
        }
        ((Executor) loop).execute(() -> {
            try {
                Object ctx = Reflect.call(Reflect.call(c.channel, "pipeline"), "context", c.http2);
                Object empty = Class.forName(types.prefix + "io.netty.buffer.Unpooled", false, types.loader).getField("EMPTY_BUFFER").get(null);
                Reflect.call(c.http2, "goAway", ctx, Integer.MAX_VALUE, 0L, empty, Reflect.call(ctx, "newPromise"));
                Reflect.call(ctx, "flush");
            } catch (Exception e) {
                Log.debug("GOAWAY on %s: %s", c.channel, e);
            }
        });
    }

    @Override
    public void stopAccepting() {
        accepting = false;
        goAwayAsTold(); // the lame duck is over (CloseRamp.everyone()): each HTTP/2 connection not told yet is told now
        Object closing = Reflect.require(listener, "close");
        tryCall(closing, "awaitUninterruptibly", CLOSE_WAIT_MILLIS);
    }

    @Override
    public Collection<?> connections() {
        return new ArrayList<>(connections.keySet());
    }

    @Override
    public int inFlight() {
        int n = 0;
        for (NettyConnection c : connections.values()) {
            n += c.inFlight;
            Object h2 = http2(c);
            if (h2 != null) {
                Object active = tryCall(tryCall(h2, "connection"), "numActiveStreams");
                n += active instanceof Integer ? (Integer) active : 0;
            }
        }
        return n;
    }

    @Override
    public long completed() {
        return completed.sum();
    }

    @Override
    public List<String> describeInFlight() {
        List<String> out = new ArrayList<>();
        long now = System.nanoTime();
        for (NettyConnection c : connections.values()) {
            Object request = c.request;
            if (c.inFlight > 0 && request != null) {
                String uri = String.valueOf(tryCall(request, "uri"));
                int query = uri.indexOf('?');
                out.add(tryCall(tryCall(request, "method"), "name") + " " + (query < 0 ? uri : uri.substring(0, query))
                        + " (" + TimeUnit.NANOSECONDS.toMillis(now - c.since) + " ms)");
            }
            Object active = c.http2 == null ? null : tryCall(tryCall(c.http2, "connection"), "numActiveStreams");
            if (active instanceof Integer && (Integer) active > 0) {
                out.add(active + " HTTP/2 stream(s)");
            }
        }
        return out;
    }

    /**
     * Netty's handlers run on its event loops, and the frameworks on it hand requests to their own threads
     * (Reactor's schedulers, Vert.x's workers): a thread whose stack shows any of them is taken to be serving.
     */
    @Override
    public boolean isServing(StackTraceElement[] stack) {
        for (StackTraceElement frame : stack) {
            String name = frame.getClassName();
            if (name.contains("io.netty.channel.") || name.startsWith("reactor.core.") || name.startsWith("io.vertx.")) {
                return true;
            }
        }
        return false;
    }

    /** Closes every connection left, and waits a moment for their close. */
    @Override
    public void stop() {
        accepting = false;
        List<Object> closing = new ArrayList<>();
        for (NettyConnection c : connections.values()) {
            closing.add(tryCall(c.channel, "close"));
        }
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        for (Object future : closing) {
            long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
            if (future != null && left > 0) {
                tryCall(future, "awaitUninterruptibly", left);
            }
        }
    }
}
