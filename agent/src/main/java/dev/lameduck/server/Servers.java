package dev.lameduck.server;

import dev.lameduck.Log;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** The servers started in this JVM, each known by its own server object. */
public final class Servers {
    private final Map<Object, ServerHandle> handles = new IdentityHashMap<>();

    /** Adds the server unless it is known already (a restart of the same object keeps its handle). */
    public synchronized ServerHandle register(Object server, ServerHandle handle) {
        ServerHandle known = handles.get(server);
        if (known != null) {
            return known;
        }
        handles.put(server, handle);
        return handle;
    }

    public synchronized ServerHandle find(Object server) {
        return handles.get(server);
    }

    public synchronized List<ServerHandle> all() {
        return new ArrayList<>(handles.values());
    }

    /** For log lines: the kinds with their ports. */
    public static String describe(List<ServerHandle> servers) {
        StringBuilder sb = new StringBuilder();
        for (ServerHandle h : servers) {
            sb.append(sb.length() == 0 ? "" : ", ").append(h.ports());
        }
        return sb.length() == 0 ? "no server" : sb.toString();
    }

    /** The WebSocket close status sent when accepting stops (RFC 6455 1001, Going Away), and its reason. */
    public static final int GOING_AWAY = 1001;
    public static final String GOING_AWAY_REASON = "server shutting down";

    /** Closes a listening channel; a failure only matters to the log. */
    public static void closeQuietly(Object channel) {
        if (channel instanceof java.nio.channels.Channel) {
            try {
                ((java.nio.channels.Channel) channel).close();
            } catch (Exception e) {
                Log.debug("closing %s: %s", channel, e);
            }
        }
    }

    /**
     * Takes every connection queued on the listener, and nothing else: the caller closes the listener next, and only
     * then hands these to its server. So only accept() runs between the last accept and the close: a server handed
     * each connection at once would answer it, and its client's next connection, arriving then, be reset by the
     * close (measured on Jetty 9.4: 0.3-3.5 ms between the last accept and the close, bursts of up to one connection
     * per client lost).
     */
    public static List<SocketChannel> takeQueued(ServerSocketChannel listener) {
        List<SocketChannel> taken = new ArrayList<>();
        try {
            listener.configureBlocking(false);
            for (SocketChannel queued; (queued = listener.accept()) != null; ) {
                taken.add(queued);
            }
        } catch (IOException e) {
            Log.debug("accepting the queued connections of %s: %s", listener, e);
        }
        return taken;
    }

    /** How a server takes a connection its acceptor would have taken. */
    public interface HandOver {
        void accept(SocketChannel connection) throws Exception;
    }

    /**
     * After the listener's close: each connection {@link #takeQueued} took goes to {@code server} as its acceptor would
     * hand it on; one the server does not take is closed.
     */
    public static void handOver(Object server, List<SocketChannel> taken, HandOver handOver) {
        for (SocketChannel connection : taken) {
            try {
                handOver.accept(connection);
            } catch (Exception e) {
                Log.debug("handing a queued connection to %s: %s", server, e);
                closeQuietly(connection);
            }
        }
        if (!taken.isEmpty()) {
            Log.debug("%d connection(s) queued at the close of %s, served", taken.size(), server);
        }
    }

    /** Where to connect to reach a listener: its own address, or the loopback of its family when bound to any. */
    public static InetSocketAddress reachable(InetSocketAddress local) throws IOException {
        if (!local.getAddress().isAnyLocalAddress()) {
            return local;
        }
        String loopback = local.getAddress() instanceof Inet6Address ? "::1" : "127.0.0.1";
        return new InetSocketAddress(InetAddress.getByName(loopback), local.getPort());
    }

    /** Whether a frame of the stack is {@code method} of a class whose name ends with {@code classSuffix}. */
    public static boolean onStack(StackTraceElement[] stack, String classSuffix, String method) {
        for (StackTraceElement frame : stack) {
            if (frame.getClassName().endsWith(classSuffix) && frame.getMethodName().equals(method)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code action} every {@code everyMillis} on a daemon thread while {@code condition} holds: for what a
     * server must be told again about connections opened later in the lame duck.
     */
    public static void repeat(String threadName, long everyMillis, BooleanSupplier condition, Runnable action) {
        Thread t = new Thread(() -> {
            try {
                while (condition.getAsBoolean()) {
                    Thread.sleep(everyMillis);
                    action.run();
                }
            } catch (InterruptedException ignored) {
                // the JVM is going anyway
            } catch (RuntimeException e) {
                Log.debug("%s: %s", threadName, e);
            }
        }, threadName);
        t.setDaemon(true);
        t.start();
    }

    /** Runs one step on one server; a failure is logged and the sequence goes on with the others. */
    public static void step(ServerHandle h, String step, Runnable action) {
        try {
            action.run();
        } catch (Throwable t) {
            Log.failure(step + " of " + h.describe(), t);
        }
    }
}
