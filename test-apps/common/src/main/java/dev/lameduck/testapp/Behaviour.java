package dev.lameduck.testapp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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

    /**
     * /download's bytes repeat every 251: a prime, so the pattern never lines up with a power-of-two buffer and a
     * chunk lost, repeated or reordered shows in the body.
     */
    private static final int DOWNLOAD_PERIOD = 251;
    private static final int DOWNLOAD_WRITE = 64 * 1024;
    /** Byte i is {@code (byte) (i % 251)}, one period longer than a write so that every write is a slice of it. */
    private static final byte[] DOWNLOAD_PATTERN = new byte[DOWNLOAD_WRITE + DOWNLOAD_PERIOD];

    static {
        for (int i = 0; i < DOWNLOAD_PATTERN.length; i++) {
            DOWNLOAD_PATTERN[i] = (byte) (i % DOWNLOAD_PERIOD);
        }
    }

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

    /**
     * An answer: status, headers, then either a plain-text body known in full or a body the glue has
     * {@linkplain Body#writeTo written} to the server's blocking streams.
     */
    public static final class Reply {
        /**
         * No Content-Length from the app: the server picks the framing, a Content-Length when it holds the whole
         * body at the end (a text reply, a short unflushed stream), else chunked (HTTP/1.1).
         */
        public static final long UNKNOWN_LENGTH = -1;

        public final int status;
        public final String contentType;
        /** Set as the Content-Length header before the body when not {@link #UNKNOWN_LENGTH}. */
        public final long contentLength;
        /** The whole body of a text reply; {@code null} when the reply {@linkplain #streams() streams}. */
        public final String body;
        /** Writes the body of a streamed reply; {@code null} for a text reply. */
        public final Body streamed;

        Reply(int status, String body) {
            this(status, "text/plain", UNKNOWN_LENGTH, body, null);
        }

        private Reply(int status, String contentType, long contentLength, String body, Body streamed) {
            this.status = status;
            this.contentType = contentType;
            this.contentLength = contentLength;
            this.body = body;
            this.streamed = streamed;
        }

        static Reply streaming(int status, String contentType, long contentLength, Body body) {
            return new Reply(status, contentType, contentLength, null, body);
        }

        /** Whether the glue must hand the server's streams to {@link #streamed} rather than send {@link #body}. */
        public boolean streams() {
            return streamed != null;
        }
    }

    /**
     * The body of a streamed reply, written on the request's thread through the server's blocking streams, after
     * the glue has set the status and headers. The glue closes {@code responseBody} afterwards; like a servlet's
     * output stream it should buffer, so that a short body written without a flush still goes out with a
     * Content-Length (that is how /upload's answer keeps a fixed length although it is only known after reading).
     */
    public interface Body {
        void writeTo(InputStream requestBody, OutputStream responseBody) throws IOException;
    }

    /**
     * For the glue of servers whose responses are a stream of buffers (Reactor Netty, WebFlux, Vert.x): an output
     * stream that buffers like a servlet's and hands the buffer to {@code next} at each flush or once 64 KiB are
     * buffered; once the response is {@code gone} (client left, connection closed), writing fails as a servlet
     * stream's would, which ends /sse.
     */
    public static final class BufferedBody extends OutputStream {
        private static final int BUFFER = 64 * 1024;
        private final java.util.function.Consumer<byte[]> next;
        private final java.util.function.BooleanSupplier gone;
        private final java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream();

        public BufferedBody(java.util.function.Consumer<byte[]> next, java.util.function.BooleanSupplier gone) {
            this.next = next;
            this.gone = gone;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            open();
            buffer.write(b, off, len);
            if (buffer.size() >= BUFFER) {
                flush();
            }
        }

        @Override
        public void flush() throws IOException {
            open();
            if (buffer.size() > 0) {
                next.accept(buffer.toByteArray());
                buffer.reset();
            }
        }

        @Override
        public void close() throws IOException {
            flush();
        }

        private void open() throws IOException {
            if (gone.getAsBoolean()) {
                throw new IOException("the response is gone");
            }
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

    /**
     * With {@code -Dtestapp.tls.keystore=FILE} (PKCS12, password {@link #TLS_PASSWORD}) the app also listens with TLS
     * on a second, free port, HTTP/1.1 and HTTP/2 by ALPN; null without it.
     */
    public static String tlsKeystore() {
        return System.getProperty("testapp.tls.keystore");
    }

    public static final String TLS_PASSWORD = "changeit";

    /** Prints the line the test harness waits for when the app listens with TLS too. */
    public static void listeningTls(int port) {
        System.out.println("listening tls on " + port);
    }

    /** The TLS context of {@link #tlsKeystore()}, for servers that take one (Undertow). */
    public static javax.net.ssl.SSLContext tlsContext() throws Exception {
        javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
        context.init(tlsKeyManagers().getKeyManagers(), null, null);
        return context;
    }

    /** The key of {@link #tlsKeystore()}, for servers that build their TLS context themselves (Netty's). */
    public static javax.net.ssl.KeyManagerFactory tlsKeyManagers() throws Exception {
        java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
        try (InputStream in = java.nio.file.Files.newInputStream(java.nio.file.Paths.get(tlsKeystore()))) {
            keys.load(in, TLS_PASSWORD.toCharArray());
        }
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, TLS_PASSWORD.toCharArray());
        return kmf;
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

    /** GET /stream?chunks=N&ms=M: lines {@code chunk i}, each flushed M ms after the last, in a body of unknown length. */
    public static Reply stream(String query) {
        long chunks = longParam(query, "chunks", 5);
        long pause = longParam(query, "ms", 100);
        return Reply.streaming(200, "text/plain", Reply.UNKNOWN_LENGTH, (in, out) -> {
            for (long i = 0; i < chunks; i++) {
                if (i > 0) {
                    sleep(pause);
                }
                out.write(("chunk " + i + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        });
    }

    /** GET /download?mb=N: N MiB of a known pattern (byte i is {@code (byte) (i % 251)}), Content-Length set first. */
    public static Reply download(String query) {
        long length = longParam(query, "mb", 20) * 1024 * 1024;
        return Reply.streaming(200, "application/octet-stream", length, (in, out) -> {
            for (long written = 0; written < length; ) {
                int n = (int) Math.min(DOWNLOAD_WRITE, length - written);
                out.write(DOWNLOAD_PATTERN, (int) (written % DOWNLOAD_PERIOD), n);
                written += n;
            }
        });
    }

    /**
     * POST /upload: reads the whole request body (the server answers {@code Expect: 100-continue} on that read),
     * then answers {@code received N}. With {@code read=false} it answers {@code not read} at once and leaves the
     * body unread, for the server to drain or to close the connection over.
     */
    public static Reply upload(String query) {
        if ("false".equals(param(query, "read"))) {
            return new Reply(200, "not read");
        }
        return Reply.streaming(200, "text/plain", Reply.UNKNOWN_LENGTH, (in, out) -> {
            byte[] buffer = new byte[64 * 1024];
            long received = 0;
            for (int n; (n = in.read(buffer)) != -1; ) {
                received += n;
            }
            // One write and no flush: the server buffers it and, on close, sends it with a Content-Length.
            out.write(("received " + received).getBytes(StandardCharsets.US_ASCII));
        });
    }

    /**
     * GET /sse?ms=M: an event stream that never ends by itself: {@code data: tick i} every M ms until a write fails
     * (client gone, connection closed by the server), and then it simply returns, as an SSE endpoint whose client
     * left would. An interrupt does not end it: a stream that ended on its own when its server stops would hide
     * whether the server's stop cuts it visibly.
     */
    public static Reply sse(String query) {
        long pause = longParam(query, "ms", 200);
        return Reply.streaming(200, "text/event-stream", Reply.UNKNOWN_LENGTH, (in, out) -> {
            try {
                for (long i = 0; ; i++) {
                    out.write(("data: tick " + i + "\n\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    sleepThroughInterrupts(pause);
                }
            } catch (IOException e) {
                // the client or the server is gone: the stream is over
            }
        });
    }

    private static void sleepThroughInterrupts(long ms) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        for (long left = ms; left > 0; left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())) {
            try {
                Thread.sleep(left);
            } catch (InterruptedException ignored) {
                // keeps streaming: see sse
            }
        }
    }

    /** Routes the synchronous and streamed endpoints; {@code null} for /async, which each app glues to its async API. */
    public static Reply route(String method, String path, String query) {
        Reply r;
        switch (path) {
            case "/health": r = health(); break;
            case "/work": r = work(query); break;
            case "/hang": r = hang(); break;
            case "/exit": r = "POST".equals(method) ? exit(query) : new Reply(405, "POST only"); break;
            case "/stream": r = stream(query); break;
            case "/download": r = download(query); break;
            case "/upload": r = "POST".equals(method) ? upload(query) : new Reply(405, "POST only"); break;
            case "/sse": r = sse(query); break;
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
        String value = param(query, name);
        return value == null ? otherwise : Long.parseLong(value);
    }

    /** The value of {@code name} in the query string, {@code null} when absent. */
    static String param(String query, String name) {
        if (query == null) {
            return null;
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith(name + "=")) {
                return pair.substring(name.length() + 1);
            }
        }
        return null;
    }
}
