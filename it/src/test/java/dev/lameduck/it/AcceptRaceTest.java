package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The race with the listener's close: clients open one-request connections as fast as they can across the end of
 * the lame duck. Each connection is refused (accepting has stopped: the client goes elsewhere) or served; one
 * that the kernel accepted and the server then reset or dropped unanswered is lost. The physical limit is what
 * arrives in the microseconds between the server's last accept and the close.
 * {@code -Dlameduck.race.cycles=20} for the measurement of issue 13 (its target: at most 1 lost in 20 cycles per
 * server); the suite runs 4.
 */
class AcceptRaceTest {
    private static final int CYCLES = Integer.getInteger("lameduck.race.cycles", 4);
    private static final int CLIENTS = 4;
    /** The agent's options; {@code -Dlameduck.race.agent=delay=300ms,log=debug} to see what each shutdown accepted. */
    private static final String AGENT = System.getProperty("lameduck.race.agent", "delay=300ms");

    /**
     * The oldest and newest version of each server. Not Reactor Netty yet: it loses 1-2 connections per shutdown
     * under this hammer (docs/benchmarks.md: connections the client saw established milliseconds before the
     * listener's last, empty accept(), then reset at its close; cause not found).
     */
    static Stream<TestApp> apps() {
        return TestApp.HTTP.stream().filter(app -> !app.isAVariant() && app.isOldestOrNewest() && app != TestApp.REACTOR_NETTY_1_3);
    }

    /** With {@code -Dlameduck.race.jvm=-Dreactor.netty.native=false} (one JVM option) for experiments. */
    private static Options options() {
        String jvm = System.getProperty("lameduck.race.jvm");
        return jvm == null ? Options.agent(AGENT) : Options.agent(AGENT).jvm(jvm);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("apps")
    void noConnectionRacingTheListenersCloseIsLost(TestApp app, TestInfo test) throws Exception {
        int accepted = 0;
        int refused = 0;
        List<String> lost = new ArrayList<>();
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            try (AppProcess p = AppProcess.start(app, options(), AppProcess.logName(test) + "-" + cycle)) {
                Hammer hammer = new Hammer(p.port());
                hammer.start();
                Thread.sleep(200);
                hammer.signalled = System.nanoTime();
                p.signal("TERM");
                assertEquals(143, p.awaitExit(Duration.ofSeconds(10)));
                hammer.stop();
                String stopped = p.awaitLine("stopped accepting", Duration.ofSeconds(1));
                if (!hammer.lost.isEmpty()) {
                    System.out.println(app + " cycle " + cycle + " " + stopped + " lost " + hammer.lost);
                }
                accepted += hammer.served.get() + hammer.lost.size();
                refused += hammer.refused.get();
                for (String l : hammer.lost) {
                    lost.add("cycle " + cycle + ": " + l);
                }
            }
        }
        System.out.printf("%s: %d cycles, %d connections accepted, %d lost, %d refused%n", app, CYCLES, accepted, lost.size(), refused);
        assertTrue(refused > 0 && accepted > 100, "the clients raced the close: " + accepted + " accepted, " + refused + " refused");
        // Before the listeners' queues were drained before their close, 0.33-0.75 % of the accepted connections
        // were lost (issue 13: Tomcat ~75, Undertow ~40 per 20 shutdowns). Since the queue is taken with nothing but
        // accept() before the close, 0-3 per 20 shutdowns (docs/benchmarks.md), a shutdown losing at most 3 at once:
        // the bound guards against the old rate without failing on one such shutdown in the suite's few cycles.
        assertTrue(lost.size() <= 2 + accepted / 400, lost.size() + " of " + accepted + " accepted connections lost: " + lost);
    }

    /** Clients opening one-request connections in a loop until stopped. */
    private static final class Hammer {
        final AtomicInteger served = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final List<String> lost = java.util.Collections.synchronizedList(new ArrayList<>());
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();
        private final int port;
        volatile long signalled = Long.MAX_VALUE;

        Hammer(int port) {
            this.port = port;
        }

        void start() {
            for (int i = 0; i < CLIENTS; i++) {
                Thread t = new Thread(this::loop, "race-client-" + i);
                t.start();
                threads.add(t);
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                t.join(10_000);
            }
        }

        private void loop() {
            while (running.get()) {
                long at = System.nanoTime();
                try (Socket s = new Socket()) {
                    try {
                        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                    } catch (ConnectException e) {
                        refused.incrementAndGet();
                        continue;
                    }
                    long connected = System.nanoTime();
                    s.setSoTimeout(5000);
                    String answer;
                    try {
                        s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        answer = firstLine(s.getInputStream());
                    } catch (IOException e) {
                        answer = e.toString();
                    }
                    if (answer.startsWith("HTTP/1.1 200")) {
                        served.incrementAndGet();
                    } else {
                        lost.add((answer.isEmpty() ? "closed unanswered" : answer) + " (connecting at +" + (at - signalled) / 1_000_000 + "ms, connected at +" + (connected - signalled) / 1_000_000
                                + "ms, failed at +" + (System.nanoTime() - signalled) / 1_000_000 + "ms, local port " + s.getLocalPort() + ")");
                    }
                } catch (IOException e) {
                    lost.add("socket: " + e);
                }
            }
        }

        private static String firstLine(InputStream in) throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int c; (c = in.read()) != -1 && c != '\n'; ) {
                sb.append((char) c);
            }
            return sb.toString().trim();
        }
    }
}
