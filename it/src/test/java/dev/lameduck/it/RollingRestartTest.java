package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * scripts/rolling-restart.sh for one app: two instances behind HAProxy under wrk load, each restarted the way
 * Kubernetes does it. Without the agent requests fail (the scenario is real); with it, none does.
 */
class RollingRestartTest {
    @Test
    void aRollingRestartBehindALoadBalancerLosesNoRequestWithTheAgent() throws Exception {
        Path script = TestApp.root().resolve("scripts/rolling-restart.sh");
        Path log = TestApp.root().resolve("it/target/app-logs/RollingRestartTest.log");
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder("bash", script.toString(), TestApp.JETTY_12_1.jar().toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the script ends");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "the script ran (it needs haproxy and wrk: scripts/test.sh installs them):\n" + output);

        List<String[]> rows = output.lines().filter(l -> l.startsWith("jetty-12.1 ")).map(l -> l.trim().split("\\s+"))
                .collect(Collectors.toList());
        assertEquals(2, rows.size(), output);
        String[] without = rows.get(0);
        String[] with = rows.get(1);
        assertEquals("without", without[1], output);
        assertTrue(Long.parseLong(without[3]) > 0, "without the agent, the restart fails requests:\n" + output);
        assertTrue(Long.parseLong(with[2]) > 1000, "with the agent, load went on:\n" + output);
        assertEquals(0, Long.parseLong(with[3]), "with the agent, not one request fails:\n" + output);
    }
}
