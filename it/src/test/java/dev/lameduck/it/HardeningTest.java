package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import dev.lameduck.testapp.grpc.proto.WorkRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hostile setups (issue 6): the agent given twice; two servers of different kinds, one of them stuck. */
class HardeningTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    /** SIGTERM before any server listens: the JVM exits promptly with 143 and its hooks run; nothing hangs. */
    @Test
    void sigtermDuringStartupExitsPromptlyWith143(TestInfo test) throws Exception {
        Options slow = Options.agent("delay=5s").jvm("-Dtestapp.slowStartMillis=20000").noWaitForListening();
        try (AppProcess p = AppProcess.start(TestApp.JETTY_12_1, slow, AppProcess.logName(test))) {
            p.awaitLine("test-app: starting slowly", PROMPTLY);
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.output().contains("SIGTERM: lame duck for 0ms"), "no server yet: no lame duck to wait out\n" + p.output());
            assertTrue(p.output().contains("pool closed by shutdown hook"), p.output());
            assertEquals(-1, p.lineIndex("listening on"), p.output());
        }
    }

    /**
     * SIGTERM while an app with two servers is starting: the gRPC server listens, the HTTP one starts in the lame
     * duck. The open RPC completes, the late server joins the sequence, both stop, 143.
     */
    @Test
    void sigtermWhileServersAreStartingDrainsTheStartedOnesAndTheLateOne(TestInfo test) throws Exception {
        Options slow = Options.agent("delay=3s").jvm("-Dtestapp.slowSecondStartMillis=1500").noWaitForListening();
        try (AppProcess p = AppProcess.start(TestApp.GRPC_AND_HTTP, slow, AppProcess.logName(test))) {
            int grpcPort = Integer.parseInt(p.awaitLine("grpc port \\d+", PROMPTLY).replaceAll("\\D+", ""));
            p.awaitLine("test-app: next server starting slowly", PROMPTLY);
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
            try {
                CompletableFuture<String> rpc = work(channel, 1000);
                Thread.sleep(200);
                p.signal("TERM");
                assertEquals("ok", rpc.get(10, TimeUnit.SECONDS), "the started server is drained");
                assertEquals(143, p.awaitExit(Duration.ofSeconds(20)));
                String out = p.output();
                assertTrue(p.lineIndex("undertow .* started during the lame duck") >= 0, out);
                assertTrue(p.lineIndex("stopped accepting on :" + grpcPort + ", :\\d+|stopped accepting on :\\d+, :" + grpcPort) >= 0, "both stop accepting\n" + out);
                assertTrue(out.contains("pool closed by shutdown hook"), out);
            } finally {
                channel.shutdownNow();
            }
        }
    }

    /**
     * The agent given twice: two {@code -javaagent} flags, or one in {@code JAVA_TOOL_OPTIONS} (as an image would
     * set it) and one on the command line, from a copy of the jar elsewhere: one install, one warning, one sequence.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"two flags", "JAVA_TOOL_OPTIONS and a copy on the command line"})
    void theAgentGivenTwiceInstallsOnceAndWarnsOnce(String how, TestInfo test) throws Exception {
        Options twice;
        if (how.equals("two flags")) {
            twice = Options.agent("").jvm("-javaagent:" + TestApp.agentJar());
        } else {
            Path copy = TestApp.root().resolve("it/target/agent-copy/lameduck-agent.jar");
            Files.createDirectories(copy.getParent());
            Files.copy(TestApp.agentJar(), copy, StandardCopyOption.REPLACE_EXISTING);
            twice = Options.agent("").env("JAVA_TOOL_OPTIONS", "-javaagent:" + copy);
        }
        try (AppProcess p = AppProcess.start(TestApp.JETTY_12_1, twice, AppProcess.logName(test))) {
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertEquals(1, p.count("[lameduck] installed:"), p.output());
            assertEquals(1, p.count("already installed"), p.output());
            assertEquals(1, p.count("registered"), p.output());
            assertEquals(1, p.count("SIGTERM: lame duck"), p.output());
        }
    }

    @Test
    void withTwoServersOfDifferentKindsOneStuckTheOtherIsDrainedAndTheStuckOneNamed(TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.GRPC_AND_HTTP, Options.agent("drain=2s,grace=30s"), AppProcess.logName(test))) {
            int grpcPort = Integer.parseInt(p.awaitLine("grpc port \\d+", PROMPTLY).replaceAll("\\D+", ""));
            HttpClient http = HttpClient.newHttpClient();
            CompletableFuture<HttpResponse<String>> hang = http.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + "/hang")).build(), HttpResponse.BodyHandlers.ofString());
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
            try {
                CompletableFuture<String> rpc = work(channel, 1500);
                Thread.sleep(500);
                p.signal("TERM");

                assertEquals("ok", rpc.get(10, TimeUnit.SECONDS), "the gRPC server is drained: its RPC completes");
                assertEquals(143, p.awaitExit(Duration.ofSeconds(20)));
                String aborted = p.awaitLine("drain ended after \\d+ms with 1 in flight", PROMPTLY);
                assertTrue(aborted.contains("GET /hang"), "the stuck one is named: " + aborted);
                assertTrue(p.output().contains("aborted=1"), p.output());
                hang.handle((r, t) -> null).join();
            } finally {
                channel.shutdownNow();
            }
        }
    }

    /** A Work RPC of {@code ms} on its way, its answer's body to come. */
    private static CompletableFuture<String> work(ManagedChannel channel, int ms) {
        return CompletableFuture.supplyAsync(() -> TestGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).work(WorkRequest.newBuilder().setMs(ms).build()).getBody());
    }
}
