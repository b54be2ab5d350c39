package dev.lameduck.undertow;

import static dev.lameduck.server.Reflect.tryCall;

import dev.lameduck.Log;
import dev.lameduck.server.Reflect;
import dev.lameduck.server.Servers;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The WebSockets of one Undertow server (2.2 to 2.4). Undertow lists none (only each handshake handler its own
 * peers), so the connection of every exchange that switched protocols is noted as it completes ({@link
 * Counting#upgraded}); the {@code WebSocketChannel} made on it afterwards is found by the connection's read
 * listener, an {@code AbstractFramedChannel$FrameReadListener} whose outer instance it is.
 */
final class UndertowWebSockets {
    private static final String CHANNEL = "io.undertow.websockets.core.WebSocketChannel";
    private static final int PRUNE_EVERY = 256;

    /** XNIO connections of upgraded exchanges (WebSockets, h2c upgrades), until found closed. */
    private final Set<Object> upgraded = ConcurrentHashMap.newKeySet();
    private final AtomicInteger added = new AtomicInteger();
    private volatile List<Object> goingAway = Collections.emptyList();

    /** From the completion listener of an exchange that switched protocols, on an I/O thread. */
    void upgraded(Object exchange) {
        Object connection = tryCall(tryCall(exchange, "getConnection"), "getChannel");
        if (connection == null) {
            return;
        }
        upgraded.add(connection);
        if (added.incrementAndGet() % PRUNE_EVERY == 0) {
            upgraded.removeIf(c -> !Boolean.TRUE.equals(tryCall(c, "isOpen")));
        }
    }

    /**
     * {@code WebSockets.sendClose(1001, reason, channel, null)} to each open WebSocket: safe from any thread (the
     * frame is flushed on the channel's I/O thread); once it is written Undertow half-closes, and the channel
     * closes at the client's close frame or EOF.
     */
    int sayGoingAway() {
        List<Object> told = new ArrayList<>();
        Method sendClose = null;
        for (Object connection : upgraded) {
            Object channel = Reflect.field(tryCall(tryCall(connection, "getSourceChannel"), "getReadListener"), "this$0");
            if (channel == null || !Reflect.isA(channel.getClass(), CHANNEL) || !Boolean.TRUE.equals(tryCall(channel, "isOpen"))) {
                continue;
            }
            try {
                if (sendClose == null) {
                    sendClose = sendClose(channel);
                }
                sendClose.invoke(null, Servers.GOING_AWAY, Servers.GOING_AWAY_REASON, channel, null);
                told.add(channel);
            } catch (Exception e) {
                Log.debug("closing WebSocket %s: %s", channel, e);
            }
        }
        goingAway = told;
        return told.size();
    }

    /** {@code WebSockets.sendClose(int, String, WebSocketChannel, WebSocketCallback)}, next to the channel's class. */
    private static Method sendClose(Object channel) throws ClassNotFoundException, NoSuchMethodException {
        for (Method m : Reflect.sibling(channel, CHANNEL, "io.undertow.websockets.core.WebSockets").getMethods()) {
            if (m.getName().equals("sendClose") && m.getParameterCount() == 4 && m.getParameterTypes()[0] == int.class) {
                return m;
            }
        }
        throw new NoSuchMethodException("WebSockets.sendClose(int, String, WebSocketChannel, WebSocketCallback)");
    }

    int open() {
        int n = 0;
        for (Object channel : goingAway) {
            if (Boolean.TRUE.equals(tryCall(channel, "isOpen"))) {
                n++;
            }
        }
        return n;
    }
}
