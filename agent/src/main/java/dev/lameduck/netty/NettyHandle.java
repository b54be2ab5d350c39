package dev.lameduck.netty;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.CloseRamp;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.Servers;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
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
 *   <li>WebSockets: when accepting stops each gets a close frame 1001 (Going Away).</li>
 *   <li>Stop: every connection left is closed.</li>
 * </ul>
 */
final class NettyHandle implements ServerHandle {
    private static final long GOAWAY_EVERY_MILLIS = 50;
    private static final long CLOSE_WAIT_MILLIS = 1000;
    /** Reads an installer waits for an HTTP codec to appear before it takes the connection for another protocol's. */
    private static final int INSTALL_READS = 16;
    /** Rounds of the epoll listener's own read before its close (up to 16 connections each by default). */
    private static final int READ_ROUNDS = 256;

    private final NettyTypes types;
    private final Object listener;
    private final String description;
    private volatile String ports;
    final LongAdder completed = new LongAdder();
    private final Map<Object, NettyConnection> connections = new ConcurrentHashMap<>();
    private final Map<String, Reflect.Call> forwards = new ConcurrentHashMap<>();
    // Looked up once: each connection's installer and the lame duck's walks call these for every connection.
    private final Reflect.Call pipelineOf = new Reflect.Call("pipeline"); // of a ChannelHandlerContext
    private final Reflect.Call channelPipeline = new Reflect.Call("pipeline"); // of a Channel
    private final Reflect.Call handlerOf = new Reflect.Call("handler");
    private final Reflect.Call addLast = new Reflect.Call("addLast");
    private final Reflect.Call addAfter = new Reflect.Call("addAfter");
    private final Reflect.Call remove = new Reflect.Call("remove");
    private final Reflect.Call get = new Reflect.Call("get");
    private final Reflect.Call connectionOf = new Reflect.Call("connection");
    private final Reflect.Call numActiveStreams = new Reflect.Call("numActiveStreams");
    private final Reflect.Call uri = new Reflect.Call("uri");
    /** The WebSockets sent Going Away when accepting stopped. */
    private final List<Object> goingAway = new CopyOnWriteArrayList<>();
    volatile boolean lameDuck;
    private volatile boolean accepting = true;
    /** Connections accepted, counted on the listener's event loop. */
    private long accepted;

    private NettyHandle(NettyTypes types, Object listener, String description) {
        this.types = types;
        this.listener = listener;
        this.description = description;
    }

    /**
     * For a channel about to bind ({@code AbstractUnsafe.bind}'s start, on its event loop: before anyone can learn
     * that it listens): a handle if it is a server's listening channel, else null (a client's or a datagram channel,
     * grpc-java's own).
     */
    static NettyHandle prepare(Object unsafe) throws Exception {
        Object channel = Reflect.field(unsafe, "this$0");
        Class<?> abstractChannel = channel == null ? null : superclassNamed(channel.getClass(), "io.netty.channel.AbstractChannel");
        if (abstractChannel == null) {
            return null;
        }
        NettyTypes types = new NettyTypes(abstractChannel);
        if (!types.serverChannel.isInstance(channel) || isGrpc(types, channel)) {
            return null;
        }
        NettyHandle handle = new NettyHandle(types, channel, "netty " + types.version() + framework(channel));
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

    /**
     * grpc-java's Netty servers are the gRPC support's: netty-shaded is relocated under {@code io.grpc} (and with
     * grpc under an application's package, {@code com.example.fat.io.grpc.netty.shaded.io.netty}), plain netty's
     * child handler is grpc's.
     */
    private static boolean isGrpc(NettyTypes types, Object channel) throws Exception {
        if (isGrpcs(types.prefix)) {
            return true;
        }
        for (Object entry : (Iterable<?>) Reflect.call(channel, "pipeline")) {
            Object handler = ((Map.Entry<?, ?>) entry).getValue();
            Object child = Reflect.field(handler, "childHandler");
            if (isGrpcs(handler.getClass().getName()) || (child != null && isGrpcs(child.getClass().getName()))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isGrpcs(String name) {
        return name.startsWith("io.grpc.") || name.contains(".io.grpc.");
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
            accepted++;
            NettyTypes.Http http = types.http();
            NettyConnection c = new NettyConnection(this, http, child);
            connections.put(child, c);
            if (http == null) {
                return true; // no HTTP in this Netty: nothing to observe
            }
            int[] reads = {0};
            Object installer = inbound((e, a) -> installEvent(c, http, reads, e, a));
            addLast.on(channelPipeline.on(child), "lameduck-install", installer);
        }
        return true;
    }

    /**
     * A new connection's events until its pipeline shows its protocol. The connection's initializer (added after
     * the installer, by the acceptor) builds the pipeline as the connection registers; with TLS the HTTP codec comes
     * once the handshake chose the protocol (ALPN), so the installer then moves after the TLS handler, where it sees
     * that choice's event, and each decrypted read before the codec does.
     */
    private boolean installEvent(NettyConnection c, NettyTypes.Http http, int[] reads, String event, Object[] args) throws Exception {
        Object ctx = args[0];
        if (c.settled) {
            return true;
        }
        if (event.equals("channelInactive")) {
            closed(c);
            return true;
        }
        boolean read = event.equals("channelRead");
        if (read && (install(c, http, ctx) || ++reads[0] > INSTALL_READS)) {
            settle(c, ctx);
            return true;
        }
        // A read: a handler may choose the protocol from these very bytes and put the codec in while they pass
        // (Vert.x's Http1xOrH2CHandler, h2c with prior knowledge on; 4.x-5.x), so the request they hold reaches the
        // application before the observer is there: counted here if they end a request's head.
        boolean endsAHead = read && endsARequestHead(args[1]);
        forward(event, args);
        if (install(c, http, ctx)) {
            if (endsAHead) {
                c.readWithoutObserver();
            }
            settle(c, ctx);
        }
        return false;
    }

    /** Whether a read's bytes (a {@code ByteBuf}, left unread) hold the blank line that ends an HTTP/1 request's head. */
    private static boolean endsARequestHead(Object message) {
        Object text = tryCall(message, "toString", java.nio.charset.StandardCharsets.ISO_8859_1);
        return text instanceof String && ((String) text).contains("\r\n\r\n");
    }

    private void settle(NettyConnection c, Object ctx) throws Exception {
        c.settled = true;
        remove.on(pipelineOf.on(ctx), handlerOf.on(ctx));
    }

    /**
     * Puts the observer after the HTTP/1 codec (after the last of a decoder and encoder pair), or notes the HTTP/2
     * handler; true when done. With a TLS handler after the installer and no codec yet, moves the installer after it.
     */
    private boolean install(NettyConnection c, NettyTypes.Http http, Object ctx) throws Exception {
        Object pipeline = pipelineOf.on(ctx);
        String codec = null;
        String tls = null;
        boolean afterMe = false;
        Object self = handlerOf.on(ctx);
        for (Object entry : (Iterable<?>) pipeline) {
            Object handler = ((Map.Entry<?, ?>) entry).getValue();
            String name = (String) ((Map.Entry<?, ?>) entry).getKey();
            if (handler == self) {
                afterMe = true;
            } else if (http.isHttp1Codec(handler)) {
                codec = name;
            } else if (http.http2Handler != null && http.http2Handler.isInstance(handler)) {
                c.http2 = handler;
            } else if (afterMe && tls == null && http.sslHandler != null && http.sslHandler.isInstance(handler)) {
                tls = name;
            }
        }
        if (codec != null) {
            Object observer = HttpObserverClass.of(types.duplexHandler).getConstructor(Object.class).newInstance(c);
            addAfter.on(pipeline, codec, "lameduck-http", observer);
            return true;
        }
        if (c.http2 != null) {
            return true;
        }
        if (tls != null) {
            remove.on(pipeline, self);
            addAfter.on(pipeline, tls, "lameduck-install", self);
        }
        return false;
    }

    void closed(NettyConnection c) {
        connections.remove(c.channel);
    }

    /** In the lame duck, a request for a readiness path: answered 503 here, its connection closed after. */
    boolean answeredNotReady(Object ctx, Object request) {
        if (!Readiness.configured()) {
            return false;
        }
        try {
            String target = String.valueOf(uri.on(request));
            int query = target.indexOf('?');
            if (!Readiness.refuses(query < 0 ? target : target.substring(0, query))) {
                return false;
            }
            NettyTypes.Http http = types.http();
            http.release(request);
            Object written = Reflect.call(ctx, "writeAndFlush", http.notReady());
            Reflect.call(written, "addListener", types.load("io.netty.channel.ChannelFutureListener").getField("CLOSE").get(null));
            return true;
        } catch (Exception e) {
            Log.debug("readiness answer on %s: %s", description, e);
            return false;
        }
    }

    @Override
    public String describe() {
        return description + " on " + ports();
    }

    /** The bound port, read once the bind is done (and kept: a closed channel has no address). */
    @Override
    public String ports() {
        if (ports == null) {
            Object address = tryCall(listener, "localAddress");
            if (!(address instanceof InetSocketAddress)) {
                return "(not bound)";
            }
            ports = ":" + ((InetSocketAddress) address).getPort();
        }
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
        NettyTypes.Http http = types.http();
        if (c.http2 == null && http != null && http.http2Handler != null) {
            try {
                c.http2 = get.on(channelPipeline.on(c.channel), http.http2Handler);
            } catch (Exception e) {
                Log.debug("HTTP/2 handler of %s: %s", c.channel, e);
            }
        }
        return c.http2;
    }

    /** The HTTP/2 connection's active streams ({@code Http2ConnectionHandler.connection().numActiveStreams()}). */
    private int activeStreams(Object http2) {
        try {
            Object n = numActiveStreams.on(connectionOf.on(http2));
            return n instanceof Integer ? (Integer) n : 0;
        } catch (Exception e) {
            return 0;
        }
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
                Object empty = types.load("io.netty.buffer.Unpooled").getField("EMPTY_BUFFER").get(null);
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
        if (!acceptQueuedThenClose() && !readUntilEmptyThenClose()) {
            Object closing = Reflect.require(listener, "close");
            tryCall(closing, "awaitUninterruptibly", CLOSE_WAIT_MILLIS);
        }
    }

    /**
     * On the listener's event loop, as the Undertow handle does with XNIO's: Netty's close of an NIO listener
     * cancels its selection key, and the JDK closes a registered channel only once its selector has dropped the key,
     * at the loop's next select: until then the kernel keeps queueing connections, to reset them all at that close.
     * So the key is cancelled and dropped here ({@code selectNow()} on its own selector, between the loop's selects),
     * the queue taken with nothing but {@code accept()}, the socket closed at once, each connection taken handed to
     * the listener's pipeline as its own read would ({@code NioServerSocketChannel.doReadMessages}: a
     * {@code NioSocketChannel} fired as a read, 4.1-4.2), then the Netty channel closed. False for another
     * transport (epoll: {@link #readUntilEmptyThenClose}; others are closed the plain way).
     */
    private boolean acceptQueuedThenClose() {
        Object loop = tryCall(listener, "eventLoop");
        Object socket = tryCall(listener, "javaChannel");
        Object key = tryCall(listener, "selectionKey");
        Class<?> nioChild = types.optional("io.netty.channel.socket.nio.NioSocketChannel");
        if (!(loop instanceof Executor) || !(socket instanceof ServerSocketChannel) || !(key instanceof SelectionKey) || nioChild == null) {
            return false;
        }
        return onLoop((Executor) loop, () -> {
            ((SelectionKey) key).cancel();
            ((SelectionKey) key).selector().selectNow();
            List<SocketChannel> taken = Servers.takeQueued((ServerSocketChannel) socket);
            Servers.closeQuietly(socket);
            Constructor<?> child = nioChild.getConstructor(types.channel, SocketChannel.class);
            Object pipeline = Reflect.call(listener, "pipeline");
            Servers.handOver(listener, taken, connection -> Reflect.call(pipeline, "fireChannelRead", child.newInstance(listener, connection)));
            Reflect.call(pipeline, "fireChannelReadComplete");
        });
    }

    /**
     * The epoll transport (Reactor Netty's default on Linux: reactor-netty-core depends on it) closes its socket at
     * once, so on the listener's event loop its own read ({@code EpollServerSocketUnsafe.epollInReady()}, 4.1-4.2:
     * accepts and fires each connection down the pipeline, up to its messages per read) runs until a round accepts
     * nothing, then the channel is closed: what could still be reset is what arrives between that last, empty
     * accept and the close. False for another transport.
     */
    private boolean readUntilEmptyThenClose() {
        Object loop = tryCall(listener, "eventLoop");
        Object unsafe = tryCall(listener, "unsafe");
        Method read = unsafe == null ? null : Reflect.find(unsafe.getClass(), "epollInReady");
        Object socket = Reflect.field(listener, "socket");
        Method closeSocket = socket == null ? null : Reflect.find(socket.getClass(), "close");
        if (!(loop instanceof Executor) || read == null || closeSocket == null) {
            return false;
        }
        return onLoop((Executor) loop, () -> {
            for (int round = 0; round < READ_ROUNDS; round++) {
                long before = accepted;
                read.invoke(unsafe);
                if (accepted == before) {
                    break;
                }
            }
            // The socket itself at once (its FileDescriptor, which Netty's close then finds closed): Netty's close
            // runs the pipeline's outbound path first, which took milliseconds here (Reactor Netty under load), a
            // window in which connections were queued, and then reset.
            closeSocket.invoke(socket);
        });
    }

    /** Runs {@code step} on the listener's event loop, then closes the listener there; false if that did not happen in time. */
    private boolean onLoop(Executor loop, Step step) {
        CountDownLatch closed = new CountDownLatch(1);
        loop.execute(() -> {
            try {
                step.run();
            } catch (Exception e) {
                Log.debug("accepting the queued connections of %s: %s", describe(), e);
            } finally {
                tryCall(listener, "close");
                closed.countDown();
            }
        });
        try {
            return closed.await(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    /**
     * Each WebSocket (a connection whose pipeline has a {@code WebSocketFrameEncoder}, put there by Netty's handshake,
     * 4.1-4.2) is sent a close frame 1001 on its event loop, from the pipeline's tail as the application's own frames
     * go; the framework (Reactor Netty, Vert.x) answers the client's close and closes the connection.
     */
    @Override
    public int sayGoingAway() {
        NettyTypes.Http http = types.http();
        if (http == null || http.webSocketEncoder == null) {
            return 0;
        }
        for (NettyConnection c : connections.values()) {
            Object encoder = tryCall(tryCall(c.channel, "pipeline"), "get", http.webSocketEncoder);
            Object loop = tryCall(c.channel, "eventLoop");
            if (encoder != null && loop instanceof Executor) {
                goingAway.add(c.channel);
                ((Executor) loop).execute(() -> {
                    try {
                        Reflect.call(c.channel, "writeAndFlush", http.goingAway());
                    } catch (Exception e) {
                        Log.debug("Going Away on %s: %s", c.channel, e);
                    }
                });
            }
        }
        return goingAway.size();
    }

    @Override
    public int openWebSockets() {
        int n = 0;
        for (Object channel : goingAway) {
            if (Boolean.TRUE.equals(tryCall(channel, "isOpen"))) {
                n++;
            }
        }
        return n;
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
                n += activeStreams(h2);
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
            int active = c.http2 == null ? 0 : activeStreams(c.http2);
            if (active > 0) {
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
