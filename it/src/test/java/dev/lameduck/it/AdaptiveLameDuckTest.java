package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lameduck.it.AppProcess.Options;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code lameduck.delay.quiet}: the lame duck ends once no new connection or request arrives, never before delay.min. */
class AdaptiveLameDuckTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);
    private static final String OPTIONS = "delay=20s,delay.quiet=500ms,delay.min=1s";

    /** One app per server kind. */
    static Stream<TestApp> apps() {
        return Stream.of(TestApp.JETTY_12_1, TestApp.TOMCAT_11, TestApp.UNDERTOW_2_3).filter(TestApp.HTTP::contains);
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("apps")
    void withoutNewConnectionsTheLameDuckEndsAfterTheQuietTimeButNotBeforeTheMinimum(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent(OPTIONS), AppProcess.logName(test))) {
            try (RawConnection c = new RawConnection(p.port())) {
                assertEquals(200, c.request("GET", "/health").status());
            }
            long signalled = System.nanoTime();
            p.signal("TERM");
            String ended = p.awaitLine("lame duck ended after \\d+ms: no new connection or request for 500ms", PROMPTLY);
            long lameDuck = Long.parseLong(ended.replaceAll(".*ended after (\\d+)ms.*", "$1"));
            assertTrue(lameDuck >= 1000 && lameDuck < 3000, "at least delay.min, and far less than the 20 s delay: " + ended);
            assertEquals(143, p.awaitExit(PROMPTLY));
            assertTrue((p.exitedAtNanos() - signalled) / 1_000_000 < 8000, "exited soon, not after the delay");
        }
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("apps")
    void newConnectionsKeepTheLameDuckGoing(TestApp app, TestInfo test) throws Exception {
        try (AppProcess p = AppProcess.start(app, Options.agent(OPTIONS), AppProcess.logName(test))) {
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 20000ms", PROMPTLY);
            long end = System.nanoTime() + Duration.ofMillis(2500).toNanos();
            int served = 0;
            while (System.nanoTime() < end) {
                try (RawConnection c = new RawConnection(p.port())) { // a new connection every 200 ms
                    assertEquals(200, c.request("GET", "/work?ms=1").status(), "served in the lame duck");
                    served++;
                }
                Thread.sleep(200);
            }
            assertEquals(-1, p.lineIndex("stopped accepting"), "traffic kept the lame duck going: " + p.output());
            String ended = p.awaitLine("lame duck ended after \\d+ms: no new connection or request for 500ms", PROMPTLY);
            long lameDuck = Long.parseLong(ended.replaceAll(".*ended after (\\d+)ms.*", "$1"));
            assertTrue(lameDuck >= 2500, "the lame duck lasted while connections kept coming: " + ended);
            assertTrue(served >= 8, "served " + served);
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }
}
