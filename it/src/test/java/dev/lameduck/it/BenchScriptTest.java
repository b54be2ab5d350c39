package dev.lameduck.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * scripts/bench.sh in its shortest form (one repetition, 1 s of load, one HTTP and one gRPC app), to keep it
 * working: each app, gRPC included, reports every measure. Timings are not asserted here: they are measured by
 * the script, and recorded in docs/benchmarks.md.
 */
class BenchScriptTest {
    @Test
    void theBenchmarkScriptRunsAndReportsEveryMeasure() throws Exception {
        Path log = TestApp.root().resolve("it/target/app-logs/BenchScriptTest.log");
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder("bash", TestApp.root().resolve("scripts/bench.sh").toString(),
                "--reps", "1", "--seconds", "1", "jetty-12.1", "grpc-1.85")
                .directory(TestApp.root().toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the script ends");
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        for (String app : new String[] {"jetty-12.1", "grpc-1.85"}) {
            String section = section(out, app);
            for (String measure : new String[] {"startup to first answer", "throughput, requests/s", "RSS after load", "metaspace used",
                    "memory outside the heap", "idle SIGTERM -> exit", "busy: exit after last answer", "agent install in premain"}) {
                assertTrue(section.lines().anyMatch(l -> l.contains(measure) && l.matches(".*\\d.*")), app + ": " + measure + " is reported:\n" + out);
            }
            assertEquals(0, section.lines().filter(l -> l.contains("busy: failed of 20")).map(l -> l.trim().split("\\s+"))
                    .mapToInt(f -> (int) Double.parseDouble(f[f.length - 2])).sum(), app + ": with the agent, no busy request fails:\n" + out);
        }
    }

    /** scripts/startup-steps.sh once: every step of the ladder is started and timed. */
    @Test
    void theStartupStepsScriptTimesEveryStep() throws Exception {
        Path log = TestApp.root().resolve("it/target/app-logs/BenchScriptTest-startup-steps.log");
        Process p = new ProcessBuilder("bash", TestApp.root().resolve("scripts/startup-steps.sh").toString(), "--reps", "1", "undertow-2.3")
                .directory(TestApp.root().toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the script ends");
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        for (String step : new String[] {"none", "empty", "noop", "bare", "exit", "full"}) {
            assertTrue(out.lines().anyMatch(l -> l.matches("\\s+" + step + "\\s+\\d+ ms .*")), step + " is timed:\n" + out);
        }
    }

    /** One app's table: from the line with its name to its last line (the agent's install time). */
    private static String section(String out, String app) {
        int start = out.indexOf("\n" + app + "\n");
        assertTrue(start >= 0, app + " has a table:\n" + out);
        int last = out.indexOf("agent install in premain", start);
        assertTrue(last >= 0, out);
        int end = out.indexOf('\n', last);
        return out.substring(start, end < 0 ? out.length() : end);
    }
}
