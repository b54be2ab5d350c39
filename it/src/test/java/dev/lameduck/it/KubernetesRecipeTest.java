package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lameduck.it.AppProcess.Options;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The container recipe of the README and examples/: the agent from {@code JAVA_TOOL_OPTIONS} (no change to the
 * image's command), every option from the environment, the plan fitted in the pod's grace period, and the
 * readiness path failing from the lame-duck start.
 */
class KubernetesRecipeTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    @Test
    void theAgentFromJavaToolOptionsTakesItsOptionsFromTheEnvironment(TestInfo test) throws Exception {
        Options recipe = Options.noAgent()
                .env("JAVA_TOOL_OPTIONS", "-javaagent:" + TestApp.agentJar())
                .env("LAMEDUCK_GRACE", "20s")
                .env("LAMEDUCK_DELAY", "2s")
                .env("LAMEDUCK_READINESS_PATHS", "/health");
        try (AppProcess p = AppProcess.start(TestApp.JETTY_12_1, recipe, AppProcess.logName(test))) {
            p.awaitLine("plan: delay 2s, drain <= \\d+s, halt at 18s", PROMPTLY);
            p.awaitLine("jetty 12\\.1\\.\\d+ on :" + p.port() + " registered", PROMPTLY);
            try (RawConnection c = new RawConnection(p.port())) {
                assertEquals(200, c.request("GET", "/health").status(), "ready");
            }
            p.signal("TERM");
            p.awaitLine("SIGTERM: lame duck for 2000ms", PROMPTLY);
            try (RawConnection c = new RawConnection(p.port())) {
                assertEquals(503, c.request("GET", "/health").status(), "not ready from the lame-duck start");
            }
            try (RawConnection c = new RawConnection(p.port())) {
                assertEquals(200, c.request("GET", "/work?ms=10").status(), "still serving");
            }
            assertEquals(143, p.awaitExit(PROMPTLY));
        }
    }
}
