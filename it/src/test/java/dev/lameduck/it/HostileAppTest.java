package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import dev.lameduck.testapp.grpc.proto.WorkRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 6: the agent in applications that make its life hard (their own Byte Buddy and logging frameworks, a
 * server API it does not know), with failures injected into the agent itself, and what it must never do
 * (open ports, write files, print what a request carries).
 */
class HostileAppTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);
    /** HTTP/1.1: these tests are not about HTTP/2 (the JDK 17 client fails open streams on any GOAWAY: JDK-8335181). */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** The app's Byte Buddy (1.14) works beside the agent's, sees none of its settings, and the app's logging setup is its own. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Jdk.class)
    void theAppsOwnByteBuddyAndLogbackWorkAsWithoutTheAgent(Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.HOSTILE_LOGBACK, Options.agent("delay=0s").on(jdk), AppProcess.logName(test))) {
            assertEquals(200, get(p, "/work").statusCode());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            String out = p.output();
            assertTrue(out.contains("app-log INFO  app - byte-buddy 1.14.18: made by the app's Byte Buddy; net.bytebuddy.safe=null"), out);
            assertTrue(p.lineIndex("^app-log INFO  Server - Started ") >= 0, "Jetty logs through the app's Logback with its pattern\n" + out);
            assertTrue(p.lineIndex("\\[lameduck\\] jetty 12\\.1\\.14 on :\\d+ registered") >= 0, out);
            assertFalse(out.contains("SLF4J"), "no slf4j provider warning: the agent brings no slf4j\n" + out);
            assertFalse(out.contains("Exception"), out);
        }
    }

    /**
     * Logback and Log4j2 stop in JVM shutdown hooks; the drain runs before any hook, so a request that finishes
     * in the drain is logged, and its log line comes before the hooks' work.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HOSTILE_LOGBACK", "HOSTILE_LOG4J2"})
    void aRequestFinishingInTheDrainIsStillLogged(String app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.valueOf(app), Options.agent("delay=1s"), AppProcess.logName(test))) {
            CompletableFuture<HttpResponse<String>> slow = HTTP.sendAsync(request(p, "/work?ms=2000"), HttpResponse.BodyHandlers.ofString());
            Thread.sleep(300);
            p.signal("TERM");
            assertEquals(200, slow.get(10, TimeUnit.SECONDS).statusCode());
            assertEquals(143, p.awaitExit(PROMPTLY));
            int stoppedAccepting = p.lineIndex("stopped accepting on");
            int logged = p.lineIndex("^app-log INFO  app - request GET /work -> 200$");
            int hooks = p.lineIndex("pool closed by shutdown hook");
            assertTrue(stoppedAccepting >= 0 && logged > stoppedAccepting && hooks > logged,
                    "the request's log line is printed in the drain, before the hooks: " + stoppedAccepting + " < " + logged + " < " + hooks + "\n" + p.output());
        }
    }

    /** Wherever the agent fails, the app starts, serves and exits with the signal's code; one line says what failed. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"install", "prepare", "lameDuck", "stopAccepting", "inFlight", "stop"})
    void anInjectedFailureLeavesTheAppServingAndTheExitIntact(String point, TestInfo test) throws Exception {
        Options failing = Options.agent("delay=1s,drain=2s,grace=10s").jvm("-Dlameduck.internal.fail=" + point);
        try (AppProcess p = AppProcess.start(TestApp.JETTY_12_1, failing, AppProcess.logName(test))) {
            p.awaitLine("\\[lameduck\\] (installed|installing)", PROMPTLY); // the background install is over
            assertEquals(200, get(p, "/work").statusCode());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(Duration.ofSeconds(9)), "exits before the deadline (8 s)");
            assertEquals(1, p.count("injected failure at " + point), p.output());
            assertEquals(1, p.count("failed, carrying on without it"), p.output());
            assertTrue(p.output().contains("pool closed by shutdown hook"), p.output());
        }
    }

    /** The same for each other kind of HTTP server, with every step of its handle failing at once. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TOMCAT_11", "UNDERTOW_2_3"})
    void everyStepFailingLeavesTheOtherServersServingAndTheExitIntact(String app, TestInfo test) throws Exception {
        Options failing = Options.agent("delay=1s,drain=2s,grace=10s").jvm("-Dlameduck.internal.fail=lameDuck,stopAccepting,inFlight,stop");
        try (AppProcess p = AppProcess.start(TestApp.valueOf(app), failing, AppProcess.logName(test))) {
            assertEquals(200, get(p, "/work").statusCode());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(Duration.ofSeconds(9)), "exits before the deadline (8 s)");
            assertEquals(4, p.count("failed, carrying on without it"), "one line per failing step\n" + p.output());
            assertTrue(p.output().contains("pool closed by shutdown hook"), p.output());
        }
    }

    /**
     * The same for a gRPC server: its preparation failing, or every step of its handle failing at once. RPCs are
     * served, and the exit keeps its code and comes before the deadline.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"prepare", "lameDuck,stopAccepting,inFlight,stop"})
    void failuresOnAGrpcServerLeaveItServingAndTheExitIntact(String points, TestInfo test) throws Exception {
        Options failing = Options.agent("delay=1s,drain=2s,grace=10s").jvm("-Dlameduck.internal.fail=" + points);
        try (AppProcess p = AppProcess.start(TestApp.GRPC_1_85, failing, AppProcess.logName(test))) {
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", p.port()).usePlaintext().build();
            try {
                assertEquals("ok", TestGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .work(WorkRequest.newBuilder().setMs(0).build()).getBody());
            } finally {
                channel.shutdownNow();
            }
            p.signal("TERM");
            assertEquals(143, p.awaitExit(Duration.ofSeconds(9)), "exits before the deadline (8 s)");
            assertEquals(points.split(",").length, p.count("failed, carrying on without it"), "one line per failing step\n" + p.output());
            assertTrue(p.output().contains("pool closed by shutdown hook"), p.output());
        }
    }

    /** A server class the agent matches by name but cannot drive (a changed API): one line, and the app is untouched. */
    @Test
    void aServerWithAnUnknownApiIsLeftAlone(TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.HOSTILE_CHANGED_API, Options.agent("delay=1s"), AppProcess.logName(test))) {
            assertEquals(200, get(p, "/work").statusCode());
            assertEquals(1, p.count("failed, carrying on without it"), p.output());
            assertTrue(p.output().contains("preparing jetty org.eclipse.jetty.server.Server for a graceful shutdown failed"), p.output());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.output().contains("pool closed by shutdown hook"), p.output());
            assertTrue(p.lineIndex("no known server in this JVM, yet it listens on .*:" + p.port() + "\\b") >= 0,
                    "a JVM that listens with no server the agent knows is named, not drained in silence\n" + p.output());
        }
    }

    /**
     * The agent listens on nothing and writes nothing: the app's process has the same listening sockets and open
     * files with the agent as without it (plus the agent's jar), and its temporary directory stays empty.
     */
    @Test
    void theAgentOpensNoPortAndWritesNoFile(TestInfo test) throws Exception {
        Set<String> without = openFilesAndListeners(Options.noAgent(), test, "without");
        Set<String> with = openFilesAndListeners(Options.agent("delay=0s"), test, "with");
        Set<String> added = new HashSet<>(with);
        added.removeAll(without);
        assertEquals(Set.of("file " + TestApp.agentJar().toRealPath()), added, "with: " + with + "\nwithout: " + without);
        assertEquals(1, with.stream().filter(s -> s.startsWith("listening")).count(), with.toString());
    }

    private Set<String> openFilesAndListeners(Options options, TestInfo test, String which) throws Exception {
        Path tmp = Files.createTempDirectory("lameduck-tmp");
        options.jvm("-Djava.io.tmpdir=" + tmp);
        try (AppProcess p = AppProcess.start(TestApp.JETTY_12_1, options, AppProcess.logName(test) + " " + which)) {
            for (int i = 0; i < 5; i++) {
                assertEquals(200, get(p, "/work").statusCode());
            }
            Thread.sleep(1500); // the agent's background install is over
            Set<String> open = openFilesAndListeners(p.pid());
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(List.of(), left.collect(Collectors.toList()), "nothing written to java.io.tmpdir");
            }
            return open;
        }
    }

    /** {@code file PATH} for each regular file the process has open, {@code listening INODE} for each listening TCP socket. */
    private static Set<String> openFilesAndListeners(long pid) throws IOException {
        Set<String> listening = new HashSet<>();
        for (String table : List.of("tcp", "tcp6")) {
            for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/net/" + table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[3].equals("0A")) {
                    listening.add(f[9]);
                }
            }
        }
        Set<String> open = new HashSet<>();
        int listeners = 0;
        try (Stream<Path> fds = Files.list(Paths.get("/proc/" + pid + "/fd"))) {
            for (Path fd : fds.collect(Collectors.toList())) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (IOException gone) {
                    continue;
                }
                if (target.startsWith("socket:[") && listening.contains(target.substring(8, target.length() - 1))) {
                    open.add("listening socket " + ++listeners); // inodes differ from run to run
                } else if (target.startsWith("/") && !target.startsWith("/dev/") && !target.startsWith("/proc/")) {
                    open.add("file " + target);
                }
            }
        }
        return open;
    }

    /**
     * What a request carries may be a credential: the drain's report and the deadline's name method and path
     * only, never the query, headers or body.
     */
    @Test
    void theReportsNameMethodAndPathOnly(TestInfo test) throws Exception {
        Options options = Options.agent("delay=0s,drain=1s,grace=6s").jvm("-Dtestapp.slowHookMillis=60000");
        try (AppProcess p = AppProcess.start(TestApp.JETTY_12_1, options, AppProcess.logName(test))) {
            HttpRequest hang = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + "/hang?token=SECRET-QUERY"))
                    .header("Authorization", "Bearer SECRET-HEADER")
                    .POST(HttpRequest.BodyPublishers.ofString("password=SECRET-BODY"))
                    .build();
            CompletableFuture<HttpResponse<String>> answer = HTTP.sendAsync(hang, HttpResponse.BodyHandlers.ofString());
            Thread.sleep(500);
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY), "halted at the deadline with the signal's code");
            String out = p.output();
            assertTrue(p.lineIndex("drain ended after \\d+ms with 1 in flight.*POST /hang \\(") >= 0, out);
            assertTrue(p.lineIndex("deadline 4000ms reached") >= 0, out);
            assertTrue(p.lineIndex("non-daemon thread \"test-app-pool-hook\"") >= 0, "the report shows the stuck hook\n" + out);
            assertFalse(out.contains("SECRET"), out);
            answer.handle((r, t) -> null).join();
        }
    }

    private static HttpRequest request(AppProcess p, String target) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + target)).build();
    }

    private static HttpResponse<String> get(AppProcess p, String target) throws Exception {
        return HTTP.send(request(p, target), HttpResponse.BodyHandlers.ofString());
    }
}
