package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lameduck.it.AppProcess.Options;
import dev.lameduck.testapp.grpc.proto.ExitRequest;
import dev.lameduck.testapp.grpc.proto.HangRequest;
import dev.lameduck.testapp.grpc.proto.Reply;
import dev.lameduck.testapp.grpc.proto.StreamRequest;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import dev.lameduck.testapp.grpc.proto.WorkRequest;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shutdown contract for grpc-java servers, with real grpc-java clients (a channel per server): GOAWAY in
 * the lame duck, streaming and unary RPCs drained, none lost.
 */
class GrpcShutdownTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);
    private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();

    static Stream<TestApp> apps() {
        return TestApp.GRPC.stream();
    }

    static Stream<Arguments> appsOnBothJdks() {
        return TestApp.GRPC.stream().flatMap(app -> app.isAVariant()
                ? Stream.of(Arguments.of(app, Jdk.JDK_17))
                : Stream.of(Arguments.of(app, Jdk.JDK_17), Arguments.of(app, Jdk.JDK_25)));
    }

    @AfterEach
    void closeChannels() {
        channels.forEach(ManagedChannel::shutdownNow);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("appsOnBothJdks")
    void idleSigtermExitsPromptlyWith143(TestApp app, Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("").on(jdk), AppProcess.logName(test))) {
            assertEquals("ok", work(channel(p.port()), 0), "the server answers before the signal");
            p.awaitLine("grpc 1\\.\\d+\\.\\d+ on :" + p.port() + " registered", PROMPTLY);
            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.lineIndex("pool closed by shutdown hook") > p.lineIndex("drained; stopping servers"),
                    "the app's hook runs after the drain:\n" + p.output());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("appsOnBothJdks")
    void streamingRpcsInFlightAtSigtermAllCompleteWithOk(TestApp app, Jdk jdk, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=1s").on(jdk), AppProcess.logName(test))) {
            ManagedChannel channel = channel(p.port());
            List<CompletableFuture<List<String>>> streams = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                streams.add(stream(channel, 10, 200)); // 10 messages, 2 s
            }
            Thread.sleep(300);
            p.signal("TERM");
            for (CompletableFuture<List<String>> s : streams) {
                assertEquals(10, s.get(15, TimeUnit.SECONDS).size(), "every message of every stream, then OK");
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue(p.output().contains("aborted=0"), p.output());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void inTheLameDuckRpcsAreServedAndHealthSaysNotServingThenNewConnectionsAreRefused(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("delay=2s"), AppProcess.logName(test))) {
            ManagedChannel pooled = channel(p.port());
            assertEquals(ServingStatus.SERVING, health(channel(p.port())), "healthy before the signal");
            CompletableFuture<List<String>> open = stream(pooled, 20, 150); // 3 s: past the lame duck
            Thread.sleep(200);

            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 2000ms", PROMPTLY);
            assertEquals(ServingStatus.NOT_SERVING, health(channel(p.port())), "a readiness check fails from the lame-duck start");
            for (int i = 0; i < 5; i++) {
                assertEquals("ok", work(pooled, 50), "unary RPCs in the lame duck succeed (after the GOAWAY, on a new connection)");
            }
            assertEquals(-1, p.lineIndex("stopped accepting"), "still in the lame duck");

            p.awaitLine("stopped accepting", PROMPTLY);
            StatusRuntimeException refused = expectFailure(() -> work(channel(p.port()), 0));
            assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode(), "a new channel cannot connect once accepting stopped");
            assertEquals(20, open.get(15, TimeUnit.SECONDS).size(), "the stream open on the old connection finishes");
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void exitFromAnRpcExitsWithItsCodeAndOthersComplete(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent(""), AppProcess.logName(test))) {
            ManagedChannel channel = channel(p.port());
            List<CompletableFuture<String>> work = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                work.add(CompletableFuture.supplyAsync(() -> work(channel, 2000)));
            }
            Thread.sleep(500);
            CompletableFuture.runAsync(() -> {
                try {
                    blocking(channel).exit(ExitRequest.newBuilder().setCode(7).build());
                } catch (StatusRuntimeException expected) {
                    // the process is going away
                }
            });
            assertEquals(7, p.awaitExit(Duration.ofSeconds(20)), "exit code of System.exit(7), no deadlock");
            for (CompletableFuture<String> w : work) {
                assertEquals("ok", w.get(5, TimeUnit.SECONDS));
            }
            assertTrue(p.output().contains("System.exit(7): lame duck"), p.output());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void aHangingRpcIsEndedAtTheDrainTimeWithUnavailableAndNamed(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent("drain=2s,grace=30s"), AppProcess.logName(test))) {
            ManagedChannel channel = channel(p.port());
            CompletableFuture<String> hang = CompletableFuture.supplyAsync(() -> blocking(channel).hang(HangRequest.getDefaultInstance()).getBody());
            Thread.sleep(500);
            long signalled = System.nanoTime();
            p.signal("TERM");

            assertEquals(143, p.awaitExit(Duration.ofSeconds(20)));
            long millis = (p.exitedAtNanos() - signalled) / 1_000_000;
            assertTrue(millis >= 2000 && millis < 15_000, "forced at the drain time (2 s), well before the deadline (28 s): " + millis);
            String aborted = p.awaitLine("drain ended after \\d+ms with 1 in flight", PROMPTLY);
            assertTrue(aborted.contains("RPC /lameduck.Test/Hang"), "the stuck RPC is named: " + aborted);
            Throwable failure = hang.handle((r, t) -> t).get(5, TimeUnit.SECONDS);
            assertTrue(failure != null && failure.getCause() instanceof StatusRuntimeException, "the hanging RPC fails: " + failure);
            assertEquals(Status.Code.UNAVAILABLE, ((StatusRuntimeException) failure.getCause()).getStatus().getCode());
        }
    }

    @Test
    void withDelayQuietTheLameDuckEndsOnceNoNewConnectionArrives(TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.GRPC_1_85, Options.agent("delay=20s,delay.quiet=500ms,delay.min=1s"), AppProcess.logName(test))) {
            assertEquals("ok", work(channel(p.port()), 0));
            p.signal("TERM");
            String ended = p.awaitLine("lame duck ended after \\d+ms: no new connection or request for 500ms", PROMPTLY);
            long lameDuck = Long.parseLong(ended.replaceAll(".*ended after (\\d+)ms.*", "$1"));
            assertTrue(lameDuck >= 1000 && lameDuck < 3000, "at least delay.min, and far less than the 20 s delay: " + ended);
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }

    @Test
    void anHttpAndAGrpcServerInOneJvmAreDrainedTogether(TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(TestApp.GRPC_AND_HTTP, Options.agent("delay=500ms"), AppProcess.logName(test))) {
            int grpcPort = Integer.parseInt(p.awaitLine("grpc port \\d+", PROMPTLY).replaceAll("\\D+", ""));
            HttpClient http = HttpClient.newHttpClient();
            CompletableFuture<HttpResponse<String>> httpWork = http.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + "/work?ms=2000")).build(), HttpResponse.BodyHandlers.ofString());
            ManagedChannel channel = channel(grpcPort);
            CompletableFuture<String> grpcWork = CompletableFuture.supplyAsync(() -> work(channel, 2000));
            Thread.sleep(500);

            p.signal("TERM");
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertEquals("ok", httpWork.get(5, TimeUnit.SECONDS).body(), "the HTTP request in flight completes");
            assertEquals("ok", grpcWork.get(5, TimeUnit.SECONDS), "the RPC in flight completes");
            String stopped = p.awaitLine("stopped accepting on", PROMPTLY);
            assertTrue(stopped.contains(":" + p.port()) && stopped.contains(":" + grpcPort), "both stopped accepting together: " + stopped);
            assertTrue(p.output().contains("draining 2 in flight"), p.output());
        }
    }

    /**
     * A rolling restart as a gRPC client sees it: one channel, round_robin over two server processes, unary RPCs
     * without pause from 4 threads; one server gets SIGTERM. Not one RPC may fail.
     */
    @Test
    void aRoundRobinClientLosesNoRpcWhenOneOfTwoServersShutsDown(TestInfo test) throws Exception {
        try (AppProcess leaving = AppProcess.start(TestApp.GRPC_1_85, Options.agent("delay=1s"), AppProcess.logName(test) + "-leaving");
                AppProcess staying = AppProcess.start(TestApp.GRPC_1_85, Options.agent("delay=1s"), AppProcess.logName(test) + "-staying")) {
            String scheme = "lameduck-two-" + System.nanoTime();
            NameResolverRegistry.getDefaultRegistry().register(new FixedAddresses(scheme, leaving.port(), staying.port()));
            ManagedChannel channel = ManagedChannelBuilder.forTarget(scheme + ":///servers")
                    .defaultLoadBalancingPolicy("round_robin").usePlaintext().build();
            channels.add(channel);

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            List<String> failures = Collections.synchronizedList(new ArrayList<>());
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Thread t = new Thread(() -> {
                    while (running.get()) {
                        try {
                            assertEquals("ok", work(channel, 20));
                            ok.incrementAndGet();
                        } catch (Throwable e) {
                            failures.add(e.toString());
                        }
                    }
                });
                t.start();
                clients.add(t);
            }
            // Load before the signal: a cold JVM on a busy machine may take more than a second to its first 20 RPCs.
            for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); ok.get() <= 20 && System.nanoTime() < end; ) {
                Thread.sleep(20);
            }
            Thread.sleep(500);
            int before = ok.get();
            leaving.signal("TERM");
            assertEquals(143, leaving.awaitExit(PROMPTLY));
            Thread.sleep(1000);
            running.set(false);
            for (Thread t : clients) {
                t.join(10_000);
            }
            assertEquals(List.of(), failures, "no RPC may fail");
            assertTrue(before > 20 && ok.get() > before + 100, "RPCs went on through the shutdown: " + before + " then " + ok.get());
        }
    }

    /** A name resolver that always answers the same two local ports. */
    private static final class FixedAddresses extends NameResolverProvider {
        private final String scheme;
        private final List<EquivalentAddressGroup> groups = new ArrayList<>();

        FixedAddresses(String scheme, int... ports) {
            this.scheme = scheme;
            for (int port : ports) {
                groups.add(new EquivalentAddressGroup(new InetSocketAddress("127.0.0.1", port)));
            }
        }

        @Override
        protected boolean isAvailable() {
            return true;
        }

        @Override
        protected int priority() {
            return 5;
        }

        @Override
        public String getDefaultScheme() {
            return scheme;
        }

        @Override
        public NameResolver newNameResolver(URI target, NameResolver.Args args) {
            if (!scheme.equals(target.getScheme())) {
                return null;
            }
            return new NameResolver() {
                @Override
                public String getServiceAuthority() {
                    return "lameduck-test";
                }

                @Override
                public void start(Listener2 listener) {
                    listener.onResult(ResolutionResult.newBuilder().setAddresses(groups).build());
                }

                @Override
                public void shutdown() {}
            };
        }
    }

    private ManagedChannel channel(int port) {
        ManagedChannel c = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        channels.add(c);
        return c;
    }

    private static TestGrpc.TestBlockingStub blocking(ManagedChannel channel) {
        return TestGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static String work(ManagedChannel channel, long ms) {
        return blocking(channel).work(WorkRequest.newBuilder().setMs(ms).build()).getBody();
    }

    private static CompletableFuture<List<String>> stream(ManagedChannel channel, int count, long intervalMillis) {
        CompletableFuture<List<String>> done = new CompletableFuture<>();
        List<String> messages = new CopyOnWriteArrayList<>();
        TestGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).stream(
                StreamRequest.newBuilder().setCount(count).setIntervalMs(intervalMillis).build(), new StreamObserver<Reply>() {
                    @Override
                    public void onNext(Reply value) {
                        messages.add(value.getBody());
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(messages);
                    }
                });
        return done;
    }

    private static ServingStatus health(ManagedChannel channel) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(TestGrpc.SERVICE_NAME).build()).getStatus();
    }

    private static StatusRuntimeException expectFailure(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        return fail("the call succeeded");
    }
}
