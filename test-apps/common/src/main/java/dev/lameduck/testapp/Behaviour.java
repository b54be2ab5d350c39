package dev.lameduck.testapp;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The behaviour behind the endpoints of DESIGN.md section 3, shared by every test app so that each app is only
 * the glue between its server's API and these methods.
 */
public final class Behaviour {
    /** The application's "connection pool": its JVM shutdown hook closes it, as a real app's hook would. */
    private static final AtomicBoolean poolClosed = new AtomicBoolean();

    private static final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-app-timer");
        t.setDaemon(true);
        return t;
    });

    /** Where each answered request is logged: nowhere, unless the app has a logging framework (the hostile-* apps). */
    private static volatile java.util.function.Consumer<String> requestLog = line -> { };

    private Behaviour() {}

    /** For apps with a logging framework: each answered request is logged through it, {@code GET /work -> 200}. */
    public static void logRequestsTo(java.util.function.Consumer<String> log) {
        requestLog = log;
    }

    /**
     * Between the servers of an app with several: with {@code -Dtestapp.slowSecondStartMillis=N} the next server
     * starts N ms later, so that a signal can arrive while some servers listen and others are still starting.
     */
    public static void startingAnotherServer() {
        long slow = Long.getLong("testapp.slowSecondStartMillis", 0);
        if (slow > 0) {
            System.out.println("test-app: next server starting slowly");
            sleep(slow);
        }
    }

    /** A finished answer: status and plain-text body. */
    public static final class Reply {
        public final int status;
        public final String body;

        Reply(int status, String body) {
            this.status = status;
            this.body = body;
        }
    }

    /**
     * Registers the pool's shutdown hook; call once from main, first. With {@code -Dtestapp.slowStartMillis=N} it
     * then takes N ms before main goes on to start the server, as an app with a slow start would.
     */
    public static void installPool() {
        Runtime.getRuntime().addShutdownHook(new Thread(Behaviour::closePool, "test-app-pool-hook"));
        long slowStart = Long.getLong("testapp.slowStartMillis", 0);
        if (slowStart > 0) {
            System.out.println("test-app: starting slowly");
            sleep(slowStart);
        }
    }

    /**
     * Closes the pool; from a JVM shutdown hook, directly or through a framework's (Spring's @PreDestroy). With
     * {@code -Dtestapp.slowHookMillis=N} closing takes N ms first, as a pool waiting for a dead database would.
     */
    public static void closePool() {
        long slow = Long.getLong("testapp.slowHookMillis", 0);
        if (slow > 0) {
            System.out.println("test-app: pool closing slowly");
            sleep(slow);
        }
        poolClosed.set(true);
        System.out.println("test-app: pool closed by shutdown hook");
    }

    /** Prints the line the test harness waits for. */
    public static void listening(int port) {
        System.out.println("listening on " + port);
    }

    /** The port from the first argument, 0 (any) when absent. */
    public static int port(String[] args) {
        return args.length > 0 ? Integer.parseInt(args[0]) : 0;
    }

    public static Reply health() {
        return new Reply(200, "up");
    }

    /** GET /work?ms=N: blocks the calling thread N ms, then answers as the pool allows. */
    public static Reply work(String query) {
        sleep(longParam(query, "ms", 0));
        return afterWork();
    }

    /** GET /async?ms=N: the answer is handed to {@code complete} N ms later on another thread. */
    public static void async(String query, java.util.function.Consumer<Reply> complete) {
        timer.schedule(() -> complete.accept(afterWork()), longParam(query, "ms", 0), TimeUnit.MILLISECONDS);
    }

    /** POST /exit?code=N: calls System.exit from the request thread; never returns normally. */
    public static Reply exit(String query) {
        System.exit((int) longParam(query, "code", 0));
        return new Reply(500, "still alive after System.exit");
    }

    /** GET /hang: never returns unless interrupted. */
    public static Reply hang() {
        sleep(Long.MAX_VALUE);
        return new Reply(500, "interrupted");
    }

    public static Reply notFound() {
        return new Reply(404, "no such endpoint");
    }

    /** Routes the synchronous endpoints; {@code null} for /async, which each app glues to its async API. */
    public static Reply route(String method, String path, String query) {
        Reply r;
        switch (path) {
            case "/health": r = health(); break;
            case "/work": r = work(query); break;
            case "/hang": r = hang(); break;
            case "/exit": r = "POST".equals(method) ? exit(query) : new Reply(405, "POST only"); break;
            case "/async": return null;
            default: r = notFound();
        }
        requestLog.accept("request " + method + " " + path + " -> " + r.status);
        return r;
    }

    private static Reply afterWork() {
        return poolClosed.get() ? new Reply(500, "pool closed") : new Reply(200, "ok");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static long longParam(String query, String name, long otherwise) {
        if (query == null) {
            return otherwise;
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith(name + "=")) {
                return Long.parseLong(pair.substring(name.length() + 1));
            }
        }
        return otherwise;
    }
}
