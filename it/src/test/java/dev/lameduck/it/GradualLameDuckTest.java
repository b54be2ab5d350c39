package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code lameduck.delay.close}: with {@code gradual} (the default) each connection is told to go ({@code Connection:
 * close} on HTTP/1.1, a GOAWAY on HTTP/2 and gRPC) once a ramp, rising over the first 80 % of the delay, has passed
 * its place, so that clients leave over the lame duck and not all at its start; every connection is told before
 * accepting stops. With {@code immediate}, every connection from the start.
 *
 * <p>20 connections, a 4 s delay (a 3.2 s ramp). Each bound is far from what a uniform ramp gives (3 of 20 told by
 * 0.5 s, 10 by 1.6 s; a chance below 1 in 1000 of failing by chance, binomially) and from what telling everyone at
 * once gives.
 */
class GradualLameDuckTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);
    private static final int CONNECTIONS = 20;
    private static final long DELAY_MILLIS = 4000;
    private static final long REQUEST_EVERY_MILLIS = 50;

    /** HTTP/1.1: Tomcat (the ticker that tells connections), oldest to newest. */
    static Stream<TestApp> http1Apps() {
        return Stream.of(TestApp.TOMCAT_9, TestApp.TOMCAT_10_1, TestApp.TOMCAT_11).filter(TestApp.HTTP::contains);
    }

    /** HTTP/2 with prior knowledge: Tomcat's h2c, Reactor Netty's, and every grpc-java app. */
    static Stream<TestApp> http2Apps() {
        return Stream.concat(Stream.of(TestApp.TOMCAT_9, TestApp.TOMCAT_11, TestApp.REACTOR_NETTY_1_3).filter(TestApp.HTTP::contains), TestApp.GRPC.stream());
    }

    /** The ramp is shared by all servers: Tomcat's, and one version of each other kind. */
    static Stream<TestApp> http1AppsOfEveryKind() {
        return Stream.concat(http1Apps(), Stream.of(TestApp.JETTY_12_1, TestApp.UNDERTOW_2_3, TestApp.REACTOR_NETTY_1_3).filter(TestApp.HTTP::contains));
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("http1AppsOfEveryKind")
    void keepAliveConnectionsAreToldToCloseOneByOneOverTheRamp(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=" + DELAY_MILLIS + "ms"), AppProcess.logName(test))) {
            assertToldGraduallyOverHttp1(p);
        }
    }

    /**
     * Spring Boot with {@code server.tomcat.max-keep-alive-requests=-1}: unlimited keep-alive, where Tomcat keeps no
     * count per connection; still told one by one.
     */
    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("springBoot")
    void withUnlimitedKeepAliveRequestsConnectionsAreStillToldOneByOne(TestApp app, TestInfo test) throws Exception {
        Options options = Options.agent("delay=" + DELAY_MILLIS + "ms").jvm("-Dserver.tomcat.max-keep-alive-requests=-1");
        try (AppProcess p = AppProcess.start(app, options, AppProcess.logName(test))) {
            assertToldGraduallyOverHttp1(p);
        }
    }

    static Stream<TestApp> springBoot() {
        return Stream.of(TestApp.SPRING_BOOT_3_5).filter(TestApp.HTTP::contains);
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("http1Apps")
    void withImmediateCloseEveryKeepAliveConnectionIsToldOnItsFirstResponse(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=" + DELAY_MILLIS + "ms,delay.close=immediate"), AppProcess.logName(test))) {
            List<Http1Client> clients = http1Clients(p);
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for " + DELAY_MILLIS + "ms", PROMPTLY);
            long lameDuckSeen = System.nanoTime(); // the line comes after every server's lameDuck() step
            Http1Client.lameDuckSeen.set(lameDuckSeen);
            joinAll(clients);
            for (Http1Client c : clients) {
                assertEquals(List.of(), c.failures, "no request fails");
                assertTrue(c.toldAt > 0, "every connection is told: " + describe(clients));
                assertEquals(0, c.keptAliveAfterLameDuckSeen, "no response to a request sent in the lame duck keeps its connection alive");
                assertTrue(c.closedByServer, "the server closes the connection after the response that tells it");
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    /** Requests in progress at the signal (one async) end with Connection: close too, and their framing. */
    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("http1Apps")
    void withImmediateCloseRequestsInProgressAtTheStartEndWithConnectionClose(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=2s,delay.close=immediate"), AppProcess.logName(test));
                RawConnection sync = new RawConnection(p.port());
                RawConnection async = new RawConnection(p.port())) {
            assertTrue(!sync.request("GET", "/health").closes() && !async.request("GET", "/health").closes(), "kept alive before");
            sync.send("GET", "/work?ms=1500");
            async.send("GET", "/async?ms=1500");
            Thread.sleep(300);
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 2000ms \\(2 in flight\\)", PROMPTLY);
            for (RawConnection c : List.of(sync, async)) {
                RawConnection.Response r = c.read();
                assertEquals("ok", r.body());
                assertTrue(r.closes(), "a request in progress at the lame duck's start is told: " + r.headers());
                assertTrue(c.closedByServer(), "and its connection closed after it");
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("http2Apps")
    void http2ConnectionsGetTheirGoAwayOneByOneOverTheRamp(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=" + DELAY_MILLIS + "ms"), AppProcess.logName(test))) {
            List<GoAwayWatch> watches = http2Connections(p);
            long signalled = System.nanoTime();
            p.signal("TERM");
            joinAll(watches);
            List<Long> told = new ArrayList<>();
            for (GoAwayWatch w : watches) {
                assertEquals(List.of(), w.failures, "each connection stays usable until its GOAWAY");
                assertEquals(1, w.goAways.size(), "one graceful GOAWAY per connection, at the time of its place: " + w.goAways);
                told.add(TimeUnit.NANOSECONDS.toMillis(w.goAways.get(0) - signalled));
            }
            assertGradual(told, "GOAWAY");
            p.awaitLine("stopped accepting", PROMPTLY);
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    static Stream<TestApp> http2AppsOnePerKind() {
        return Stream.of(TestApp.TOMCAT_11, TestApp.REACTOR_NETTY_1_3, TestApp.GRPC_1_85).filter(a -> TestApp.HTTP.contains(a) || TestApp.GRPC.contains(a));
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("http2AppsOnePerKind")
    void withImmediateCloseEveryHttp2ConnectionGetsItsGoAwayAtTheStart(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=" + DELAY_MILLIS + "ms,delay.close=immediate"), AppProcess.logName(test))) {
            List<GoAwayWatch> watches = http2Connections(p);
            long signalled = System.nanoTime();
            p.signal("TERM");
            joinAll(watches);
            for (GoAwayWatch w : watches) {
                assertEquals(List.of(), w.failures);
                assertTrue(!w.goAways.isEmpty(), "every connection gets a GOAWAY");
                long millis = TimeUnit.NANOSECONDS.toMillis(w.goAways.get(0) - signalled);
                assertTrue(millis < 1000, "at the lame duck's start (a gradual ramp tells 30 % by 1 s): " + millis + " ms");
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    /** 20 keep-alive clients sending every 50 ms through a SIGTERM with a gradual close: told one by one. */
    private static void assertToldGraduallyOverHttp1(AppProcess p) throws Exception {
        List<Http1Client> clients = http1Clients(p);
        long signalled = System.nanoTime();
        p.signal("TERM");
        joinAll(clients);
        List<Long> told = new ArrayList<>();
        for (Http1Client c : clients) {
            assertEquals(List.of(), c.failures, "no request fails");
            assertTrue(c.toldAt > 0, "every connection that keeps sending is told: " + describe(clients));
            assertTrue(c.toldAt > signalled, "no connection is told before the signal");
            assertTrue(c.closedByServer, "the server closes the connection after the response that tells it");
            told.add(TimeUnit.NANOSECONDS.toMillis(c.toldAt - signalled));
        }
        assertGradual(told, "Connection: close");
        p.awaitLine("stopped accepting", PROMPTLY);
        assertEquals(143, p.awaitExit(PROMPTLY));
    }

    /**
     * When each connection was told, in ms after the signal: a minority in the first 0.5 s, about half by the ramp's
     * middle (not all at its end), every one before the lame duck ends and accepting stops.
     */
    private static void assertGradual(List<Long> toldMillis, String what) {
        Collections.sort(toldMillis);
        long early = toldMillis.stream().filter(t -> t < 500).count();
        long byMiddle = toldMillis.stream().filter(t -> t < DELAY_MILLIS * 8 / 10 / 2).count();
        String when = what + " at (ms after the signal) " + toldMillis;
        System.out.println(when);
        assertTrue(early < CONNECTIONS / 2, "a minority of connections told in the first 0.5 s: " + when);
        assertTrue(byMiddle >= 3 && byMiddle <= CONNECTIONS - 3, "about half told by the ramp's middle: " + when);
        assertTrue(toldMillis.get(toldMillis.size() - 1) < DELAY_MILLIS, "every connection told within the delay, before accepting stops: " + when);
    }

    private static List<Http1Client> http1Clients(AppProcess p) throws Exception {
        Http1Client.lameDuckSeen.set(Long.MAX_VALUE);
        List<Http1Client> clients = new ArrayList<>();
        for (int i = 0; i < CONNECTIONS; i++) {
            clients.add(new Http1Client(new RawConnection(p.port())));
        }
        clients.forEach(Thread::start);
        for (Http1Client c : clients) {
            long end = System.nanoTime() + PROMPTLY.toNanos();
            while (c.served == 0 && c.failures.isEmpty() && System.nanoTime() < end) {
                Thread.sleep(10);
            }
            assertTrue(c.served > 0, "each client is served before the signal: " + c.failures);
        }
        return clients;
    }

    private static List<GoAwayWatch> http2Connections(AppProcess p) throws Exception {
        List<GoAwayWatch> watches = new ArrayList<>();
        for (int i = 0; i < CONNECTIONS; i++) {
            H2cConnection h2 = new H2cConnection(p.port());
            assertTrue(h2.await(H2cConnection.SETTINGS, 0, 5000) != null, "the server's SETTINGS: an HTTP/2 connection");
            watches.add(new GoAwayWatch(h2));
        }
        Thread.sleep(200); // each connection's processor is in place, none told before the signal
        watches.forEach(Thread::start);
        return watches;
    }

    private static void joinAll(List<? extends Thread> threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join(DELAY_MILLIS + PROMPTLY.toMillis());
            assertTrue(!t.isAlive(), t.getName() + " still running");
        }
    }

    private static String describe(List<Http1Client> clients) {
        StringBuilder sb = new StringBuilder();
        for (Http1Client c : clients) {
            sb.append(sb.length() == 0 ? "" : ", ").append(c.served).append(c.toldAt > 0 ? " told" : " not told");
        }
        return "served per connection: " + sb;
    }

    /**
     * One keep-alive client on its own connection: a request every 50 ms until a response carries {@code Connection:
     * close} (then it checks that the server closes the connection), or until the lame duck is surely over.
     */
    private static final class Http1Client extends Thread {
        /** When the test saw the lame duck begin: requests sent after it count for the immediate mode. */
        static final AtomicLong lameDuckSeen = new AtomicLong(Long.MAX_VALUE);

        final RawConnection connection;
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        volatile int served;
        volatile long toldAt;
        volatile boolean closedByServer;
        volatile int keptAliveAfterLameDuckSeen;

        Http1Client(RawConnection connection) {
            super("http1-client");
            this.connection = connection;
        }

        @Override
        public void run() {
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            try (RawConnection c = connection) {
                while (System.nanoTime() < giveUp) {
                    long sent = System.nanoTime();
                    RawConnection.Response r = c.request("GET", "/work?ms=1");
                    if (r.status() != 200 || !"ok".equals(r.body())) {
                        failures.add(r.status() + " " + r.body());
                        return;
                    }
                    served++;
                    if (r.closes()) {
                        toldAt = System.nanoTime();
                        closedByServer = c.closedByServer();
                        return;
                    }
                    if (sent > lameDuckSeen.get()) {
                        keptAliveAfterLameDuckSeen++;
                    }
                    Thread.sleep(REQUEST_EVERY_MILLIS);
                }
            } catch (IOException | InterruptedException e) {
                failures.add(e.toString());
            }
        }
    }

    /** Reads one HTTP/2 connection's frames and notes when each GOAWAY arrives, until the server closes it or time is up. */
    private static final class GoAwayWatch extends Thread {
        final H2cConnection connection;
        final List<Long> goAways = Collections.synchronizedList(new ArrayList<>());
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());

        GoAwayWatch(H2cConnection connection) {
            super("goaway-watch");
            this.connection = connection;
        }

        @Override
        public void run() {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DELAY_MILLIS + 1000);
            try (H2cConnection c = connection) {
                for (long left; (left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())) > 0; ) {
                    H2cConnection.Frame f = c.next((int) left);
                    if (f != null && f.type() == H2cConnection.GOAWAY) {
                        if (f.goAwayError() != 0) {
                            failures.add("GOAWAY with error " + f.goAwayError());
                        }
                        // grpc-netty's graceful GOAWAY is two frames (max stream id, then the last one after a
                        // ping): the first is the one that tells the client.
                        if (goAways.isEmpty() || f.payload().length >= 4 && lastStreamId(f) == Integer.MAX_VALUE) {
                            goAways.add(System.nanoTime());
                        }
                    }
                }
            } catch (IOException e) {
                if (goAways.isEmpty()) {
                    failures.add(e.toString()); // closed without a GOAWAY
                }
                // else: closed by the server after its GOAWAY, as it may
            }
        }

        private static int lastStreamId(H2cConnection.Frame f) {
            return java.nio.ByteBuffer.wrap(f.payload(), 0, 4).getInt() & 0x7fffffff;
        }
    }
}
