package dev.lameduck.testapp.grpc;

import dev.lameduck.testapp.grpc.proto.Reply;
import dev.lameduck.testapp.grpc.proto.TestGrpc;
import dev.lameduck.testapp.grpc.proto.WorkRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * scripts/bench.sh's gRPC client (there is no gRPC load tool among the machine's packages), run from a gRPC test
 * app's jar: {@code java -cp app.jar dev.lameduck.testapp.grpc.BenchClient MODE PORT ...}. Times are printed as
 * epoch nanoseconds, as the script's {@code date +%s%N}.
 *
 * <ul>
 *   <li>{@code first-ok PORT}: warms up, prints {@code ready}, then calls Work(0) until one answers OK and prints
 *       that moment: started before the server, it measures the server's start to its first OK RPC.
 *   <li>{@code load PORT SECONDS CONCURRENCY}: unary Work(0) with CONCURRENCY calls always outstanding on one
 *       channel, a warm-up of half as long first; prints RPCs per second.
 *   <li>{@code busy PORT}: 20 Work RPCs of 500, 550 .. 1450 ms; prints {@code sent}, then for each its end and
 *       {@code ok} or its status.
 * </ul>
 */
public final class BenchClient {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int port = Integer.parseInt(args[1]);
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            switch (mode) {
                case "first-ok": firstOk(channel); break;
                case "load": load(channel, Integer.parseInt(args[2]), Integer.parseInt(args[3])); break;
                case "busy": busy(channel); break;
                default: throw new IllegalArgumentException("mode: first-ok, load or busy, not " + mode);
            }
        } finally {
            channel.shutdownNow();
        }
    }

    private static void firstOk(ManagedChannel channel) throws InterruptedException {
        call(channel, 0, 10); // loads and initialises the client's classes against the closed port: not timed
        System.out.println("ready");
        waitForGo();
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // a server that never starts ends the run
        while (true) {
            channel.resetConnectBackoff(); // or the channel waits out its reconnect backoff (1 s and more)
            if (call(channel, 0, 1000)) {
                break;
            }
            if (System.nanoTime() - giveUp > 0) {
                throw new IllegalStateException("no OK answer from " + channel.authority() + " within 60 s");
            }
            Thread.sleep(5);
        }
        System.out.println(epochNanos());
    }

    /** Waits for a line on standard input: the script starts the server at that moment. */
    private static void waitForGo() {
        try {
            new BufferedReader(new InputStreamReader(System.in)).readLine();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean call(ManagedChannel channel, long ms, long deadlineMs) {
        try {
            TestGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS).work(WorkRequest.newBuilder().setMs(ms).build());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static void load(ManagedChannel channel, int seconds, int concurrency) throws InterruptedException {
        run(channel, Math.max(1, seconds / 2), concurrency);
        System.out.println(run(channel, seconds, concurrency) / seconds);
    }

    /** Keeps {@code concurrency} Work(0) calls outstanding for {@code seconds}; the number of OK answers. */
    private static long run(ManagedChannel channel, int seconds, int concurrency) throws InterruptedException {
        TestGrpc.TestStub stub = TestGrpc.newStub(channel);
        Semaphore slots = new Semaphore(concurrency);
        AtomicLong ok = new AtomicLong();
        WorkRequest request = WorkRequest.newBuilder().setMs(0).build();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            slots.acquire();
            stub.work(request, new StreamObserver<Reply>() {
                @Override public void onNext(Reply r) { ok.incrementAndGet(); }
                @Override public void onError(Throwable t) { slots.release(); }
                @Override public void onCompleted() { slots.release(); }
            });
        }
        slots.acquire(concurrency);
        return ok.get();
    }

    private static void busy(ManagedChannel channel) throws InterruptedException {
        call(channel, 0, 5000); // the connection is open before the RPCs start
        int n = 20;
        String[] results = new String[n];
        CountDownLatch done = new CountDownLatch(n);
        for (int i = 0; i < n; i++) {
            int index = i;
            TestGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).work(WorkRequest.newBuilder().setMs(500 + 50 * i).build(), new StreamObserver<Reply>() {
                @Override public void onNext(Reply r) {}
                @Override public void onError(Throwable t) { results[index] = epochNanos() + " " + io.grpc.Status.fromThrowable(t).getCode(); done.countDown(); }
                @Override public void onCompleted() { results[index] = epochNanos() + " ok"; done.countDown(); }
            });
        }
        System.out.println("sent");
        done.await(60, TimeUnit.SECONDS);
        for (String r : results) {
            System.out.println(r == null ? "0 none" : r);
        }
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
