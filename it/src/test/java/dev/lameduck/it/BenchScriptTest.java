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
 * working. Timings are not asserted here: they are measured by the script, and recorded in docs/benchmarks.md.
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
        for (String measure : new String[] {"startup to first answer", "throughput, requests/s", "RSS after load", "metaspace used",
                "idle SIGTERM -> exit", "busy: exit after last answer", "agent install in premain"}) {
            assertTrue(out.lines().anyMatch(l -> l.contains(measure) && l.matches(".*\\d.*")), measure + " is reported:\n" + out);
        }
        assertTrue(out.contains("grpc-1.85"), out);
        assertEquals(0, out.lines().filter(l -> l.contains("busy: failed of 20")).map(l -> l.trim().split("\\s+"))
                .mapToInt(f -> (int) Double.parseDouble(f[f.length - 2])).sum(), "with the agent, no busy request fails:\n" + out);
    }
}
