package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import dev.lameduck.testapp.grpc.proto.WorkRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import net.bytebuddy.agent.ByteBuddyAgent;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 6: the agent attached to a running JVM (agentmain, through the attach API as byte-buddy-agent does it)
 * finds the servers that started before it, and drains them on SIGTERM like the ones it sees start.
 */
class AttachTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    /** The oldest and newest of each server on JDK 17; on JDK 25 (threads keep their task elsewhere) the newest. */
    static Stream<Arguments> appsAndJdks() {
        return Stream.of(TestApp.JETTY_9_4, TestApp.JETTY_12_1, TestApp.TOMCAT_9, TestApp.TOMCAT_11, TestApp.UNDERTOW_2_2, TestApp.UNDERTOW_2_4)
                .flatMap(app -> app == TestApp.JETTY_12_1 || app == TestApp.TOMCAT_11 || app == TestApp.UNDERTOW_2_4
                        ? Stream.of(Arguments.of(app, Jdk.JDK_17), Arguments.of(app, Jdk.JDK_25))
                        : Stream.of(Arguments.of(app, Jdk.JDK_17)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("appsAndJdks")
    void serversStartedBeforeTheAttachAreFoundAndDrained(TestApp app, Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.noAgent().on(jdk), AppProcess.logName(test))) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            assertEquals(200, client.send(get(p, "/work"), HttpResponse.BodyHandlers.ofString()).statusCode());

            ByteBuddyAgent.attach(TestApp.agentJar().toFile(), String.valueOf(p.pid()), "delay=1s");
            p.awaitLine("\\[lameduck\\] \\w+ .* on :" + p.port() + " registered", PROMPTLY);

            CompletableFuture<HttpResponse<String>> slow = client.sendAsync(get(p, "/work?ms=3000"), HttpResponse.BodyHandlers.ofString());
            Thread.sleep(300);
            p.signal("TERM");
            p.awaitLine("stopped accepting on :" + p.port() + "; draining 1 in flight", PROMPTLY);
            assertRefusedAtOnce(p);
            HttpResponse<String> answer = slow.get(10, TimeUnit.SECONDS);
            assertEquals(200, answer.statusCode());
            assertEquals("close", answer.headers().firstValue("connection").orElse(""), "lame duck: Connection: close");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.lineIndex("done: .* aborted=0 exit=143") >= 0, p.output());
        }
    }

    /**
     * New connections are refused once the agent has stopped accepting: at once. (An attached Jetty once still took
     * a connection for a few ms after its channel's close: acceptors interrupted in accept(), gone since they are
     * parked before the close.)
     */
    private static void assertRefusedAtOnce(AppProcess p) {
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", p.port()).close(), "new connections refused");
    }

    enum Grpc { GRPC_1_60, GRPC_1_85_NETTY }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Grpc.class)
    void grpcServersStartedBeforeTheAttachAreFoundAndDrained(Grpc which, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.valueOf(which.name()), Options.noAgent(), AppProcess.logName(test))) {
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", p.port()).usePlaintext().build();
            try {
                ByteBuddyAgent.attach(TestApp.agentJar().toFile(), String.valueOf(p.pid()), "delay=1s");
                p.awaitLine("\\[lameduck\\] grpc .* on :" + p.port() + " registered", PROMPTLY);
                CompletableFuture<String> rpc = CompletableFuture.supplyAsync(() -> TestGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(30, TimeUnit.SECONDS).work(WorkRequest.newBuilder().setMs(1500).build()).getBody());
                Thread.sleep(500);
                p.signal("TERM");
                assertEquals("ok", rpc.get(10, TimeUnit.SECONDS));
                assertEquals(143, p.awaitExit(PROMPTLY));
                assertTrue(p.lineIndex("done: .* aborted=0 exit=143") >= 0, p.output());
            } finally {
                channel.shutdownNow();
            }
        }
    }

    private static HttpRequest get(AppProcess p, String target) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + target)).build();
    }
}
