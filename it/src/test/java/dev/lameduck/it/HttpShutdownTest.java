package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shutdown contract, scenario by scenario, against every HTTP test app as a real process with the real
 * agent jar, real signals and real clients. The scenarios that matter most also run on JDK 25.
 */
class HttpShutdownTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /**
     * The server versions themselves, not their relocated or framework variants (which use the same hooks and
     * handles): the scenarios that exercise one more path of a handle each (readiness, SIGINT, load, hang, h2,
     * options, no agent). Keeps the suite within its time.
     */
    static Stream<TestApp> serverVersions() {
        return TestApp.HTTP.stream().filter(app -> !app.isAVariant());
    }

    static Stream<TestApp> h2cApps() {
        return serverVersions().filter(app -> app.h2c);
    }

    /**
     * Every app but the relocated builds (their hooks and handles are the unrelocated builds'; they still run the
     * idle, in-flight and exit scenarios and the framing): the lame duck and the stop of accepting on every framework.
     */
    static Stream<TestApp> appsButRelocated() {
        return TestApp.HTTP.stream().filter(app -> !app.toString().endsWith("-relocated"));
    }

    /** Every app on JDK 17; the newest version of each server on Temurin 25 too (CI time: the oldest ran there until session 6). */
    static Stream<Arguments> appsOnBothJdks() {
        return TestApp.HTTP.stream().flatMap(app -> app.isNewest()
                ? Stream.of(Arguments.of(app, Jdk.JDK_17), Arguments.of(app, Jdk.JDK_25))
                : Stream.of(Arguments.of(app, Jdk.JDK_17)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("appsOnBothJdks")
    void idleSigtermExitsPromptlyWith143AndHooksRunAfterTheDrain(TestApp app, Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=0").on(jdk), AppProcess.logName(test))) {
            assertEquals(200, get(p, "/health").statusCode());
            p.awaitLine("\\[lameduck\\] [a-z]+ [^ ]+ on :" + p.port() + " registered", PROMPTLY);

            long signalled = System.nanoTime();
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));

            int done = p.lineIndex("\\[lameduck\\] \\+\\d+ms done: trigger=SIGTERM .* exit=143");
            int hook = p.lineIndex("pool closed by shutdown hook");
            assertTrue(done >= 0, "no done line:\n" + p.output());
            assertTrue(hook > done, "the app's shutdown hook must run after the sequence:\n" + p.output());
            long millis = (p.exitedAtNanos() - signalled) / 1_000_000;
            assertTrue(millis < 5000, "idle SIGTERM took " + millis + " ms");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("appsOnBothJdks")
    void requestsInFlightAtSigtermAllCompleteBeforeExit(TestApp app, Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=0").on(jdk), AppProcess.logName(test))) {
            List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                inFlight.add(getAsync(p, i % 2 == 0 ? "/work?ms=1500" : "/async?ms=1500"));
            }
            Thread.sleep(500);
            p.signal("TERM");
            p.awaitLine("stopped accepting on :" + p.port() + "; draining 5 in flight", PROMPTLY);

            for (CompletableFuture<HttpResponse<String>> f : inFlight) {
                HttpResponse<String> r = f.join();
                assertEquals(200, r.statusCode());
                assertEquals("ok", r.body(), "the app's pool must still be open while requests drain");
            }
            // Every answer arrived whole, so the JVM did not end before it had sent them (comparing its exit with the
            // client's completion instead races the client's own threads: the last bytes may be sent, the server
            // gone, and the future not yet completed; seen once on Jetty 12.1 relocated).
            assertEquals(143, p.awaitExit(PROMPTLY));
            p.awaitLine("drained; stopping servers", PROMPTLY);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("appsButRelocated")
    void duringTheLameDuckDelayNewAndKeepAliveRequestsAreServedWithConnectionClose(TestApp app, TestInfo test) throws Exception {
        // Immediate: every connection is told from the start (the gradual ramp has its own test).
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1500ms,delay.close=immediate"), AppProcess.logName(test));
                RawConnection before = new RawConnection(p.port())) {
            RawConnection.Response first = before.request("GET", "/health");
            assertEquals(200, first.status());
            assertFalse(first.closes(), "before the signal, connections are kept alive");

            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 1500ms", PROMPTLY);

            RawConnection.Response again = before.request("GET", "/health");
            assertEquals(200, again.status());
            assertTrue(again.closes(), "keep-alive request in lame duck: " + again.headers());
            assertTrue(before.closedByServer(), "the server closes the connection after that response");

            try (RawConnection fresh = new RawConnection(p.port())) {
                RawConnection.Response r = fresh.request("GET", "/work?ms=10");
                assertEquals(200, r.status());
                assertEquals("ok", r.body());
                assertTrue(r.closes(), "new connection in lame duck: " + r.headers());
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serverVersions")
    void readinessPathsAnswer503FromTheLameDuckStartWhileEveryOtherPathIsServed(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1500ms").jvm("-Dlameduck.readiness.paths=/ready,/health"), AppProcess.logName(test))) {
            try (RawConnection before = new RawConnection(p.port())) {
                assertEquals(200, before.request("GET", "/health").status(), "ready before the signal");
            }
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 1500ms", PROMPTLY);

            try (RawConnection probe = new RawConnection(p.port())) {
                RawConnection.Response r = probe.request("GET", "/health");
                assertEquals(503, r.status(), "a readiness probe fails from the lame-duck start: " + r.headers());
            }
            try (RawConnection other = new RawConnection(p.port())) {
                RawConnection.Response r = other.request("GET", "/work?ms=10");
                assertEquals(200, r.status(), "every other path is served");
                assertEquals("ok", r.body());
            }
            assertEquals(-1, p.lineIndex("stopped accepting"), "all of the above happened in the lame duck");
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true) // -Dlameduck.apps may select no h2c app
    @MethodSource("h2cApps")
    void http2ConnectionsGetAGracefulGoAwayAndTheirStreamsInFlightComplete(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=4s,delay.close=immediate"), AppProcess.logName(test));
                H2cConnection h2 = new H2cConnection(p.port())) {
            h2.get(1, "/health");
            assertEquals("up", h2.body(1, 5000), "HTTP/2 works before the signal");
            h2.get(3, "/work?ms=1500");
            Thread.sleep(300);

            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 4000ms", PROMPTLY);
            H2cConnection.Frame goAway = h2.await(H2cConnection.GOAWAY, 0, 3000);
            assertTrue(goAway != null, "a GOAWAY during the lame duck");
            assertEquals(0, goAway.goAwayError(), "NO_ERROR: graceful");
            assertEquals("ok", h2.body(3, 10_000), "the stream in flight completes");

            try (H2cConnection fresh = new H2cConnection(p.port())) {
                fresh.get(1, "/health");
                assertEquals("up", fresh.body(1, 5000), "a new HTTP/2 connection in the lame duck is served");
                assertTrue(fresh.await(H2cConnection.GOAWAY, 0, 2000) != null, "and told to go away too");
            }
            assertEquals(-1, p.lineIndex("stopped accepting"), "all of the above happened in the lame duck, not at the stop");
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("appsButRelocated")
    void afterTheDelayNewConnectionsAreRefusedAndOpenConnectionsServed(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1s,drain=10s"), AppProcess.logName(test));
                RawConnection idle = new RawConnection(p.port());
                RawConnection busy = new RawConnection(p.port())) {
            assertEquals(200, idle.request("GET", "/health").status());
            busy.send("GET", "/work?ms=3000"); // keeps the drain going
            Thread.sleep(300);

            p.signal("TERM");
            p.awaitLine("stopped accepting on :" + p.port(), PROMPTLY);

            assertThrows(ConnectException.class, () -> new RawConnection(p.port()).close(), "a new connection must be refused");
            RawConnection.Response onOpen = idle.request("GET", "/work?ms=100");
            assertEquals(200, onOpen.status(), "a request on an open connection during the drain is served");
            assertEquals("ok", onOpen.body());
            assertTrue(onOpen.closes(), "with Connection: close: " + onOpen.headers());

            RawConnection.Response slow = busy.read();
            assertEquals(200, slow.status());
            assertEquals("ok", slow.body());
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    /** Spring Boot too, with its graceful mode on: its shutdown hook would wait 30 s for the exiting request. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("appsOnBothJdks")
    void systemExitFromARequestLetsOthersCompleteAndExitsWithItsCode(TestApp app, Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("").on(jdk), AppProcess.logName(test))) {
            List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                inFlight.add(getAsync(p, "/work?ms=2000"));
            }
            Thread.sleep(500);
            CompletableFuture<HttpResponse<String>> exit = client.sendAsync(
                    HttpRequest.newBuilder(uri(p, "/exit?code=7")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertEquals(7, p.awaitExit(Duration.ofSeconds(20)), "exit code of System.exit(7), no deadlock");
            for (CompletableFuture<HttpResponse<String>> f : inFlight) {
                HttpResponse<String> r = f.join();
                assertEquals(200, r.statusCode());
                assertEquals("ok", r.body());
            }
            assertTrue(p.output().contains("System.exit(7): lame duck"), p.output());
            assertTrue(p.output().contains("drained; stopping servers"), "the exiting request is not waited for:\n" + p.output());
            exit.handle((r, t) -> null).join();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serverVersions")
    void aHangingRequestIsAbortedAtTheDrainTimeAndNamedInTheLog(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("drain=2s,grace=30s"), AppProcess.logName(test))) {
            CompletableFuture<HttpResponse<String>> hang = getAsync(p, "/hang?secret=hunter2");
            Thread.sleep(500);
            long signalled = System.nanoTime();
            p.signal("TERM");

            assertEquals(143, p.awaitExit(Duration.ofSeconds(20)));
            long millis = (p.exitedAtNanos() - signalled) / 1_000_000;
            assertTrue(millis >= 2000 && millis < 15_000, "forced stop at the drain time (2 s), well before the deadline (28 s): " + millis);
            String aborted = p.awaitLine("drain ended after \\d+ms with 1 in flight", PROMPTLY);
            // ">N ms": found running at the lame duck's start (Undertow counts requests, and lists them only from then)
            assertTrue(aborted.matches(".*GET /hang \\(>?\\d+ ms\\).*"), "the stuck request is named: " + aborted);
            assertFalse(p.output().contains("hunter2"), "query strings may carry secrets; never logged");
            hang.handle((r, t) -> null).join();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serverVersions")
    void sigintSkipsTheDelayAndASecondSigintExitsAtOnce(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=5s,drain=20s"), AppProcess.logName(test))) {
            CompletableFuture<HttpResponse<String>> hang = getAsync(p, "/hang");
            Thread.sleep(500);
            p.signal("INT");
            p.awaitLine("SIGINT: lame duck for 0ms", PROMPTLY);
            p.awaitLine("stopped accepting", Duration.ofSeconds(2));

            long second = System.nanoTime();
            p.signal("INT");
            assertEquals(130, p.awaitExit(PROMPTLY));
            long millis = (p.exitedAtNanos() - second) / 1_000_000;
            assertTrue(millis < 2000, "the second SIGINT exits at once, not after the 20 s drain: " + millis + " ms");
            hang.handle((r, t) -> null).join();
        }
    }

    /**
     * A rolling restart as a client pool sees it: 20 clients with keep-alive connections keep sending while
     * SIGTERM arrives. Not one request may fail; the only error allowed is a refused connect once accepting
     * has stopped (a real client then goes to another instance).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("serverVersions")
    void keepAliveClientsUnderLoadSeeNoFailureThroughTheShutdown(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1s"), AppProcess.logName(test))) {
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger refusedEarly = new AtomicInteger();
            List<String> failures = Collections.synchronizedList(new ArrayList<>());
            // The lame duck starts after the signal is sent and lasts 1 s: no refused connect before that.
            AtomicLong signalled = new AtomicLong(Long.MAX_VALUE);
            AtomicLong lameDuckEndsNoEarlierThan = new AtomicLong(Long.MAX_VALUE);
            List<Thread> clients = new ArrayList<>();
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            for (int i = 0; i < 20; i++) {
                HttpClient pool = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
                Thread t = new Thread(() -> {
                    while (System.nanoTime() < end) {
                        try {
                            HttpResponse<String> r = pool.send(HttpRequest.newBuilder(uri(p, "/work?ms=50")).timeout(Duration.ofSeconds(10)).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200 && r.body().equals("ok")) {
                                ok.incrementAndGet();
                            } else {
                                failures.add(r.statusCode() + " " + r.body());
                            }
                        } catch (ConnectException refused) {
                            if (System.nanoTime() < lameDuckEndsNoEarlierThan.get()) {
                                refusedEarly.incrementAndGet();
                            }
                            return; // this instance is gone; a real client goes elsewhere
                        } catch (Exception e) {
                            failures.add(e + " at " + sinceSignal(signalled) + " ms after the signal");
                        }
                    }
                });
                t.start();
                clients.add(t);
            }
            Thread.sleep(1000);
            int beforeSignal = ok.get();
            signalled.set(System.nanoTime());
            lameDuckEndsNoEarlierThan.set(System.nanoTime() + Duration.ofSeconds(1).toNanos());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            for (Thread t : clients) {
                t.join(15_000);
            }
            assertEquals(List.of(), failures, "no request may fail");
            assertEquals(0, refusedEarly.get(), "connects are refused only once accepting has stopped");
            assertTrue(beforeSignal > 20 && ok.get() > beforeSignal + 20, "load went on through the lame duck: " + beforeSignal + " then " + ok.get());
        }
    }

    private static long sinceSignal(AtomicLong signalled) {
        long at = signalled.get();
        return at == Long.MAX_VALUE ? -1 : (System.nanoTime() - at) / 1_000_000;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serverVersions")
    void badOptionValuesAreReportedInOneLineAndTheAppStillServes(TestApp app, TestInfo test) throws Exception {
        Options options = Options.agent("drain=abc,log=loud")
                .jvm("-Dlameduck.grace=1e9s")
                .env("LAMEDUCK_SERVERS", "jetty,nginx");
        try (AppProcess p = AppProcess.start(app, options, AppProcess.logName(test))) {
            p.awaitLine("^\\[lameduck\\] ignoring lameduck.drain=abc: expected a duration like 250ms, 3s or 1m$", PROMPTLY);
            p.awaitLine("^\\[lameduck\\] ignoring lameduck.log=loud: expected one of off, warn, info, debug$", PROMPTLY);
            p.awaitLine("^\\[lameduck\\] ignoring lameduck.grace=1e9s: expected a duration like 250ms, 3s or 1m$", PROMPTLY);
            p.awaitLine("^\\[lameduck\\] ignoring lameduck.servers=jetty,nginx: expected a comma-separated subset of", PROMPTLY);
            p.awaitLine("plan: delay 0s, drain <= 20s, halt at 28s", PROMPTLY);
            assertEquals(200, get(p, "/health").statusCode());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.output().contains("done: trigger=SIGTERM"), "the defaults are in force:\n" + p.output());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serverVersions")
    void withoutTheAgentTheAppBehavesAsBefore(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.noAgent(), AppProcess.logName(test))) {
            assertEquals(200, get(p, "/health").statusCode());
            HttpResponse<String> work = get(p, "/async?ms=50");
            assertEquals(200, work.statusCode());
            assertEquals("ok", work.body());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.output().contains("pool closed by shutdown hook"), p.output());
            assertFalse(p.output().contains("[lameduck]"), p.output());
        }
    }

    private HttpResponse<String> get(AppProcess p, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(p, path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> getAsync(AppProcess p, String path) {
        return client.sendAsync(HttpRequest.newBuilder(uri(p, path)).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI uri(AppProcess p, String path) {
        return URI.create("http://127.0.0.1:" + p.port() + path);
    }
}
